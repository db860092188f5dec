"""Secrets never leave the secrets file: a full scenario, then a grep of everything it produced.

The scenario adds a host with an API token and an SSH password; deploys apps whose secrets are generated
(gotify's admin password, authelia's four secrets) and apps given secret values by the user (SDK, OCI and the CLI's ``--env-file``); backs up, restores as a
new app, updates; fails operations with injected faults (a failed create task, an SSH connection dropped
mid-install, 5xx answers); runs CLI commands with ``--json``; and plans and runs an Omni-Prompt request.

Then each secret value (the token secret, the SSH password, every generated app secret, every secret the
user gave) is searched for in: every file of the state directory (the SQLite database with its -wal and
-shm bytes included), the DEBUG log of every logger of this process but the simulator's own, everything
written to stdout/stderr, each CLI command's output, every job's events, every deployment log, the audit
log, the repr, str and HTML view of every model the SDK returned, and the str and repr (with details, log
tail and stderr tail) of every error raised. The only place any of them may appear is the owner-only
(0600) secrets file.
"""

from __future__ import annotations

import json
import logging
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from proximity import Proximity
from proximity.cli import main as cli
from proximity.errors import ProximityError
from tests.sdk.conftest import FAST, add_lab
from tests.security.helpers import Figures

pytestmark = pytest.mark.timeout(240)


class NotSimulator(logging.Filter):
    """The simulator is the server side: its own log is not Proximity's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("proximity.sim")


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.addFilter(NotSimulator())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


class Evidence:
    """Text from every place a secret must not reach, by place name."""

    def __init__(self) -> None:
        self.places: dict[str, list[str]] = {}

    def add(self, place: str, *items: Any) -> None:
        bucket = self.places.setdefault(place, [])
        for item in items:
            bucket.append(item if isinstance(item, str) else describe(item))

    def error(self, place: str, error: BaseException) -> None:
        self.add(place, str(error), repr(error), repr(getattr(error, "details", "")))
        self.add(place, "\n".join(getattr(error, "log_tail", [])), str(getattr(error, "stderr_tail", "")))


def describe(value: Any) -> str:
    """repr, str and the notebook view of a model (or of each model in a list)."""
    if isinstance(value, (list, tuple)):
        return "\n".join(describe(item) for item in value)
    parts = [repr(value), str(value)]
    html = getattr(value, "_repr_html_", None)
    if callable(html):
        parts.append(html())
    dump = getattr(value, "model_dump_json", None)
    if callable(dump):
        parts.append(dump())
    return "\n".join(parts)


def _gotify_oci_catalog(tmp_path: Path) -> Any:
    """The real catalog: gotify has a compose and an OCI install, and a generated ADMIN_PASSWORD."""
    from proximity.catalog.loader import load_catalog

    return load_catalog()


def _run_cli(evidence: Evidence, home: Path, *args: str, stdin: str = "") -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", str(home)], input=stdin)
    evidence.add(f"CLI {' '.join(args[:2])}", result.output, repr(result.exception))
    return result


def test_no_secret_leaves_the_secrets_file(
    tmp_path: Path, debug_log: Path, capfd: pytest.CaptureFixture[str], module_sim: Any, figures: Figures
) -> None:
    sim = module_sim
    home = tmp_path / "state"
    evidence = Evidence()
    user_secrets = {
        name: f"user-{name}-{secrets.token_urlsafe(12)}" for name in ("sdk", "oci", "cli", "failed")
    }

    with Proximity(home, catalog=_gotify_oci_catalog(tmp_path), **FAST) as px:
        px.update_settings(health_timeout_s=15, task_timeout_s=30)
        host = add_lab(px, sim)
        evidence.add("models", host, px.hosts.list(), px.hosts.test("lab"), px.hosts.nodes("lab"))
        evidence.add("models", px.hosts.storages("lab"), px.settings())

        generated = px.apps.deploy("gotify", name="generated")
        many = px.apps.deploy("authelia", name="many-generated")  # four generated secrets
        given = px.apps.deploy("gotify", name="given", env={"ADMIN_PASSWORD": user_secrets["sdk"]})
        oci = px.apps.deploy("gotify", name="oci", method="oci", env={"ADMIN_PASSWORD": user_secrets["oci"]})
        evidence.add("models", generated, many, given, oci, px.apps.list())

        backup = px.backups.create("given")
        restored = px.backups.restore(backup.volid, as_name="given-copy")
        updated = px.apps.update("given")
        evidence.add("models", backup, px.backups.list("given"), restored, updated)

        # failures: a create task PVE fails, an SSH connection dropped during the install, 5xx answers
        sim.faults.fail_tasks("unable to create CT - storage 'local-lvm' is not online", task_type="vzcreate")
        with pytest.raises(ProximityError) as failed_create:
            px.apps.deploy("gotify", name="failed-create", env={"ADMIN_PASSWORD": user_secrets["failed"]})
        sim.faults.clear()
        evidence.error("errors", failed_create.value)
        sim.faults.drop_ssh(command="pct exec * -- tee *", count=1)
        with pytest.raises(ProximityError) as dropped:
            px.apps.deploy("gotify", name="dropped", env={"ADMIN_PASSWORD": user_secrets["failed"]})
        sim.faults.clear()
        evidence.error("errors", dropped.value)
        sim.faults.http_error(500, "internal error", path="/nodes/*/vzdump", count=20)
        with pytest.raises(ProximityError) as backup_failed:
            px.backups.create("generated")
        sim.faults.clear()
        evidence.error("errors", backup_failed.value)

        plan = px.ask("back up generated", ranker=None)
        evidence.add("Omni-Prompt", repr(plan), plan.describe(), repr(plan.run(confirm=True)))

        for job in px.jobs.list(limit=1000):
            evidence.add("job events", job, px.jobs.events(job.id))
        for app in px.apps.list(live=False):
            evidence.add("deployment logs", px.apps.logs(app.name, deployment=True))
        evidence.add("audit log", px.audit(limit=10_000))
        stored = json.loads((home / "secrets.json").read_text())

    env_file = tmp_path / "cli.env"
    env_file.write_text(f"ADMIN_PASSWORD={user_secrets['cli']}\n")
    deployed = _run_cli(
        evidence,
        home,
        "apps",
        "deploy",
        "gotify",
        "--name",
        "from-cli",
        "--env-file",
        str(env_file),
        "-q",
        "--json",
    )
    assert deployed.exit_code == 0, deployed.output
    for args in (
        ("apps", "list", "--json"),
        ("apps", "show", "from-cli", "--json"),
        ("hosts", "list", "--json"),
        ("hosts", "show", "lab", "--json"),
        ("backups", "list", "given", "--json"),
        ("jobs", "list", "--json"),
        ("apps", "logs", "from-cli", "--deployment"),
    ):
        result = _run_cli(evidence, home, *args)
        assert result.exit_code == 0, (args, result.output)
    stored = json.loads((home / "secrets.json").read_text())
    env_file.unlink()  # the user's own file: not a place Proximity wrote

    given_by_user = set(user_secrets.values())
    generated_secrets = sorted(
        {value for values in stored["apps"].values() for value in values.values()} - given_by_user
    )
    watched = {
        "token secret": sim.token_secret,
        "SSH password": sim.root_password,
        **{f"generated {index}": value for index, value in enumerate(generated_secrets)},
        **{f"user secret ({where})": value for where, value in user_secrets.items()},
    }
    assert len(generated_secrets) >= 5  # gotify's ADMIN_PASSWORD and authelia's four
    assert stored["apps"]["given"]["ADMIN_PASSWORD"] == user_secrets["sdk"]
    assert stored["apps"]["from-cli"]["ADMIN_PASSWORD"] == user_secrets["cli"]

    captured = capfd.readouterr()
    evidence.add("stdout/stderr", captured.out, captured.err)
    evidence.add("DEBUG log", debug_log.read_text(encoding="utf-8", errors="replace"))
    files = {
        f"state file {p.relative_to(home)}": p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()
    }
    assert {"state file proximity.db", "state file secrets.json"} <= set(files)

    found: dict[str, list[str]] = {}
    for label, value in watched.items():
        needle = value.encode()
        places = [name for name, data in files.items() if needle in data]
        places += [name for name, texts in evidence.places.items() if any(value in text for text in texts)]
        found[label] = places
    # a failed deploy rolls its secrets back out of the secrets file too: that one is found nowhere
    expected = {label: [] if "failed" in label else ["state file secrets.json"] for label in watched}
    assert found == expected
    secrets_mode = stat.S_IMODE((home / "secrets.json").stat().st_mode)
    assert secrets_mode == 0o600, oct(secrets_mode)
    assert "DEBUG" in (debug_log.read_text()) and len(evidence.places["job events"]) > 10  # the grep saw work

    figures.add("secrets: values searched for", len(watched))
    figures.add("secrets: places searched", len(files) + len(evidence.places))
    figures.add("secrets: value x place checks", len(watched) * (len(files) + len(evidence.places)))
