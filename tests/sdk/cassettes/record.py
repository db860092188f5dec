"""Re-record the API cassettes: ``python -m tests.sdk.cassettes.record``.

Starts a simulator, deploys one app, then records each HTTP-only operation (no SSH) into its own cassette,
with the credentials filtered out; the OCI deploy's health probe is answered by a stand-in at replay. ``meta.json`` keeps what a replay needs: the host URL
and the app record. Re-record only when a change in API calls is intended, and say why in the commit.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import vcr

from proximity import Proximity
from proximity.sim import Simulator
from tests.sdk.conftest import FAST, add_lab

HERE = Path(__file__).resolve().parent
FILTERED = ["authorization", "cookie", "csrfpreventiontoken"]
DEPLOYED = "memos"  # OCI, no inputs, an HTTP health check on a port above 1024


def recorder() -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(HERE),
        record_mode="all",
        match_on=["method", "path", "query"],
        filter_headers=FILTERED,
        decode_compressed_response=True,
    )


def main() -> None:
    for old in HERE.glob("*.yaml"):
        old.unlink()  # vcr's "all" mode would append to an existing cassette
    with Simulator(nodes=3, time_scale=0.01, seed=7) as sim, Proximity(tempfile.mkdtemp(), **FAST) as px:
        add_lab(px, sim)
        px.apps.deploy("gotify", name="movies", method="oci")
        px.pve("lab")  # connection opened before recording
        cassettes = recorder()
        with cassettes.use_cassette("list.yaml"):
            px.apps.list()
        with cassettes.use_cassette("stop.yaml"):
            px.apps.stop("movies")
        with cassettes.use_cassette("start.yaml"):
            px.apps.start("movies")
        with cassettes.use_cassette("backup.yaml"):
            backup = px.backups.create("movies")
        px.apps.deploy(DEPLOYED, name="warm", method="oci")  # the image is pulled once, before recording
        # a deploy from a fresh client on the same state: a cold connection, as in a new process
        with Proximity(px.home, **FAST) as cold, cassettes.use_cassette("deploy.yaml"):
            deployed = cold.apps.deploy(DEPLOYED, name="notes", method="oci")
        meta = {
            "url": sim.url,
            "token_id": sim.token_id,
            "app": px.store.get_app("movies").model_dump(mode="json"),
            "backup": backup.volid,
            "deployed": {
                "catalog_id": DEPLOYED,
                "name": "notes",
                "ip": deployed.ip,
                "url": deployed.url,
                "vmid": deployed.vmid,
            },
        }
        (HERE / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
