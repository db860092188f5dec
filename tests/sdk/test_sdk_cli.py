"""The CLI over the same SDK, against the simulator: --json everywhere, --yes for destructive verbs,
secrets from files, typed errors as one line and exit status 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from proximity.cli import main


def _run(args: list[str], db: Path, input: str | None = None) -> Any:
    result = CliRunner().invoke(main, [*args, "--db", str(db)], input=input, catch_exceptions=False)
    return result


def test_cli_end_to_end(sim: Any, tmp_path: Path) -> None:
    db = tmp_path / "state"
    shown = CliRunner().invoke(main, ["hosts", "fingerprint", sim.url])
    assert shown.output.strip() == sim.fingerprint
    secret_file = tmp_path / "token"
    secret_file.write_text(sim.token_secret + "\n")
    password_file = tmp_path / "ssh"
    password_file.write_text(sim.root_password)
    added = _run(
        [
            "hosts",
            "add",
            "lab",
            "--url",
            sim.url,
            "--token-id",
            sim.token_id,
            "--token-secret-file",
            str(secret_file),
            "--fingerprint",
            sim.fingerprint,
            "--ssh-port",
            str(sim.ssh_port),
            "--ssh-password-file",
            str(password_file),
            "--json",
        ],
        db,
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["name"] == "lab"
    assert sim.token_secret not in added.output

    hosts = json.loads(_run(["hosts", "list", "--json"], db).output)
    assert [h["name"] for h in hosts] == ["lab"] and "token_secret" not in hosts[0]
    nodes = json.loads(_run(["hosts", "nodes", "--json"], db).output)
    assert len(nodes) == 3

    deployed = _run(["apps", "deploy", "gotify", "--name", "movies", "--host", "lab", "--json"], db)
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.output)["status"] == "running"
    listed = json.loads(_run(["apps", "list", "--json"], db).output)
    assert [(a["name"], a["status"]) for a in listed] == [("movies", "running")]

    stopped = _run(["apps", "stop", "movies", "--json"], db)
    assert json.loads(stopped.output)["status"] == "stopped"
    backup = _run(["backups", "create", "movies", "--json"], db)
    assert json.loads(backup.output)["volid"].startswith("local:backup/vzdump-lxc-")
    assert len(json.loads(_run(["backups", "list", "--json"], db).output)) == 1

    jobs = json.loads(_run(["jobs", "list", "--json"], db).output)
    assert {j["kind"] for j in jobs} >= {"deploy", "app", "backup"}
    assert all(j["state"] == "succeeded" for j in jobs)

    refused = _run(["apps", "delete", "movies", "--purge"], db, input="n\n")
    assert refused.exit_code != 0
    assert json.loads(_run(["apps", "list", "--json"], db).output)[0]["name"] == "movies"
    deleted = _run(["apps", "delete", "movies", "--purge", "--yes"], db)
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(_run(["apps", "list", "--json"], db).output) == []

    missing = _run(["apps", "stop", "nothing"], db)
    assert missing.exit_code == 1 and "NotFound" in missing.output


def test_cli_deploy_reads_inputs_from_a_file_and_stdin(sim: Any, tmp_path: Path) -> None:
    db = tmp_path / "state"
    token = tmp_path / "token"
    token.write_text(sim.token_secret)
    ssh = tmp_path / "ssh"
    ssh.write_text(sim.root_password)
    added = _run(
        [
            "hosts",
            "add",
            "lab",
            "--url",
            sim.url,
            "--token-id",
            sim.token_id,
            "--token-secret-file",
            str(token),
            "--fingerprint",
            sim.fingerprint,
            "--ssh-port",
            str(sim.ssh_port),
            "--ssh-password-file",
            str(ssh),
        ],
        db,
    )
    assert added.exit_code == 0, added.output
    env_file = tmp_path / "inputs.env"
    env_file.write_text("# vaultwarden\nexport DOMAIN='https://vault.lan'\nSIGNUPS_ALLOWED=false\n")
    secret = 's3cret $value with "quotes" # and more'  # a ' with a $: see test_sdk_e2e_install
    deployed = _run(
        [
            "apps",
            "deploy",
            "vaultwarden",
            "--method",
            "compose",
            "--env-file",
            str(env_file),
            "--env-stdin",
            "ADMIN_TOKEN",
            "--json",
            "-q",
        ],
        db,
        input=secret + "\n",
    )
    assert deployed.exit_code == 0, deployed.output
    assert secret not in deployed.output
    from proximity import Proximity

    with Proximity(db) as px:
        app = px.apps.get("vaultwarden", live=False)
        assert px.store.secrets.app("vaultwarden")["ADMIN_TOKEN"].get_secret_value() == secret
    containers = sim.cluster.containers[app.vmid].inside.docker.containers.values()
    main_env = next(c for c in containers if c.service == "vaultwarden").environment
    assert "https://vault.lan" in main_env.values() and "false" in main_env.values()
    assert secret in main_env.values()

    both = _run(
        ["apps", "deploy", "gotify", "--env-file", "-", "--env-stdin", "ADMIN_PASSWORD"],
        db,
        input="ADMIN_PASSWORD=x\n",
    )
    assert both.exit_code != 0 and "stdin" in both.output
