"""What the hostile-input and secrets/TLS tests share: injection payloads, a test catalog, the check for
partial state, and the counters behind the "security figures" printed at the end of a run (each test
that counts something calls ``figures.add(name, n)``; docs/reliability.md takes its numbers from there).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from proximity.catalog.loader import Catalog, load_catalog
from proximity.resources import data_dir

FIGURES: Counter[str] = Counter()

# Each payload would change a command if it reached a shell unquoted; the ``{canary}`` ones would create
# a file, which the tests look for afterwards.
INJECTIONS = [
    "'; touch {canary}; '",
    '"; touch {canary}; "',
    "$(touch {canary})",
    "`touch {canary}`",
    "x && touch {canary}",
    "x || touch {canary}",
    "x | tee {canary}",
    "x > {canary}",
    "x\ntouch {canary}",
    "x\r\ntouch {canary}",
    "${{IFS}}touch${{IFS}}{canary}",
    "$((1+1)) $HOME ${{PATH}} $$ $!",
    "* ? [a-z] ~root {{a,b}}",
    "\\'\\\"\\\\ trailing backslash \\",
    "-rf --help -- --",
    "ünïcødé ☃ 𝔘 \u202e\u200b",
    "# comment; not a comment",
    "x; touch {canary} #",
]


class Figures:
    def add(self, name: str, count: int = 1) -> None:
        FIGURES[name] += count


def gotify_entry() -> dict[str, Any]:
    return json.loads((data_dir("catalog") / "apps" / "gotify.json").read_text())


def catalog_with(tmp_path: Path, *entries: dict[str, Any]) -> Catalog:
    """The builtin catalog plus ``entries`` (a folder of their own)."""
    folder = tmp_path / "extra-catalog"
    folder.mkdir(exist_ok=True)
    for entry in entries:
        (folder / f"{entry['id']}.json").write_text(json.dumps(entry))
    catalog = load_catalog([folder])
    assert not [e for e in catalog.errors if e.path.parent == folder], catalog.errors
    return catalog


def leftovers(px: Any, sim: Any, containers_before: set[int]) -> dict[str, Any]:
    """What a refused operation must not leave: app or port rows, app secrets, jobs still running,
    containers on the simulator. All empty means no partial state."""
    db = px.store.db
    secrets_path = px.store.secrets.path
    stored = json.loads(secrets_path.read_text()) if secrets_path.exists() else {}
    with sim.cluster.lock:
        new_cts = sorted(set(sim.cluster.containers) - containers_before)
    return {
        "apps": [row[0] for row in db.execute("SELECT name FROM apps").fetchall()],
        "ports": db.execute("SELECT COUNT(*) FROM ports").fetchone()[0],
        "running jobs": db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'running'").fetchone()[0],
        "app secrets": sorted(stored.get("apps", {})),
        "containers": new_cts,
        # in-process claims: VMIDs being submitted, memory promised to deploys in flight
        "claimed VMIDs": sorted(vmid for h in px.hosts.list() for vmid in px.pve(h.name)._claimed),
        "memory promised (MiB)": sum(px._async.apps._reserved_mb.values()),
    }


NOTHING_LEFT = {
    "apps": [],
    "ports": 0,
    "running jobs": 0,
    "app secrets": [],
    "containers": [],
    "claimed VMIDs": [],
    "memory promised (MiB)": 0,
}
