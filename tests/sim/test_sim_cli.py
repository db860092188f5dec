"""``proximity sim`` prints how to connect, serves until interrupted, and stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from click.testing import CliRunner
from proxmoxer import ProxmoxAPI

from proximity.cli import main
from proximity.cli.sim_cmd import snippet
from proximity.sim import Simulator

COMMAND = [sys.executable, "-c", "from proximity.cli import main; main()"]


def test_sim_command_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [
            *COMMAND,
            "sim",
            "--nodes",
            "2",
            "--port",
            "0",
            "--ssh-port",
            "0",
            "--no-ssh",
            "--time-scale",
            "0.01",
            "--json",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        details = json.loads(process.stdout.readline())
        user, name = details["token_id"].split("!")
        port = int(details["url"].rsplit(":", 1)[1])
        px = ProxmoxAPI(
            "127.0.0.1",
            port=port,
            user=user,
            token_name=name,
            token_value=details["token_secret"],
            verify_ssl=details["ca_path"],
        )
        assert [n["node"] for n in px.nodes.get()] == ["pve1", "pve2"]
        assert details["nodes"] == {"pve1": "127.80.0.1", "pve2": "127.80.0.2"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_snippet_runs_against_a_simulator() -> None:
    with Simulator(nodes=1, time_scale=0.01, ssh=False) as sim:
        lines = snippet(sim).splitlines()
        assert len(lines) == 5
        namespace: dict[str, object] = {}
        exec("\n".join(lines[:3]), namespace)  # the snippet a new user pastes
        assert namespace["px"].version.get()["version"].startswith("9.")  # type: ignore[attr-defined]


def test_refuses_a_non_loopback_host() -> None:
    result = CliRunner().invoke(main, ["sim", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "loopback" in result.output
