"""End to end: proxmoxer creates and starts a CT on the simulator, SSH ``pct exec`` deploys an app with
Docker Compose inside it, and the app answers HTTP on the CT's address, as the SDK's deploy will do it."""

from __future__ import annotations

import asyncio
import http.client
import random
import shlex
import socket
import time
from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

from proximity.sim import Simulator

VMID = str(random.randint(20_000, 60_000))
APP_DIR = "/opt/proximity/jellyfin"
COMPOSE = (
    "services:\n"
    "  jellyfin:\n"
    "    image: jellyfin/jellyfin:10.11.3\n"
    "    restart: unless-stopped\n"
    "    ports: ['8096:8096']\n"
    "    environment:\n"
    "      JELLYFIN_PublishedServerUrl: ${PUBLISHED_URL}\n"
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(nodes=2, time_scale=0.01) as simulator:
        yield simulator


def _api(sim: Simulator) -> Any:
    host, port = sim.url.removeprefix("https://").rsplit(":", 1)
    return ProxmoxAPI(
        host,
        port=int(port),
        user="root@pam",
        token_name="proximity",
        token_value=sim.token_secret,
        verify_ssl=sim.ca_path,
    )


def _done(api: Any, upid: str) -> dict[str, Any]:
    status: dict[str, Any] = Tasks.blocking_status(api, upid, timeout=30, polling_interval=0.05)
    return status


def _pct(sim: Simulator, argv: list[str], stdin: bytes | None = None, node: str = "127.80.0.1") -> Any:
    async def go() -> asyncssh.SSHCompletedProcess:
        async with asyncssh.connect(
            node, sim.ssh_port, username="root", password=sim.root_password, known_hosts=None
        ) as connection:
            return await connection.run(shlex.join(argv), input=stdin, encoding=None, check=False)

    return asyncio.run(go())


def _health(ip: str, path: str = "/health") -> int:
    connection = http.client.HTTPConnection(ip, 8096, timeout=3)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _wait_status(ip: str, wanted: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if _health(ip) == wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"{ip}:8096/health never answered {wanted}")


def test_deploy_compose_app_over_ssh_and_reach_it(sim: Simulator) -> None:
    api = _api(sim)
    node = api.nodes("pve1")
    created = node.lxc.post(
        vmid=VMID,
        ostemplate="local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
        hostname="movies",
        net0="name=eth0,bridge=vmbr0,ip=dhcp",
        unprivileged=1,
        features="nesting=1",  # keyctl is root@pam's alone through the API: set below with pct set
        rootfs="local-lvm:8",
        memory=2048,
        cores=2,
    )
    assert _done(api, created)["exitstatus"] == "OK"
    assert _pct(sim, ["pct", "set", VMID, "--features", "nesting=1,keyctl=1"]).exit_status == 0
    stopped = _pct(sim, ["pct", "exec", VMID, "--", "true"])
    assert (stopped.exit_status, stopped.stderr) == (255, f"CT {VMID} not running\n".encode())
    assert _done(api, node.lxc(VMID).status.start.post())["exitstatus"] == "OK"
    idle = node.lxc(VMID).status.current.get()

    def in_ct(*argv: str, stdin: bytes | None = None) -> Any:
        return _pct(sim, ["pct", "exec", VMID, "--", *argv], stdin)

    steps: list[tuple[list[str], bytes | None]] = [
        (["apt-get", "update"], None),
        (shlex.split("env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose"), None),
        (["mkdir", "-p", APP_DIR], None),
        (["tee", f"{APP_DIR}/compose.yaml"], COMPOSE.encode()),
        (["tee", f"{APP_DIR}/.env"], b"PUBLISHED_URL=http://movies.lan:8096\n"),
        (["chmod", "600", f"{APP_DIR}/.env"], None),
    ]
    for argv, stdin in steps:
        result = in_ct(*argv, stdin=stdin)
        assert result.exit_status == 0, (argv, result.stderr)
    compose = shlex.split(
        f"docker compose --project-directory {APP_DIR} -f {APP_DIR}/compose.yaml -p jellyfin"
    )
    up = in_ct(*compose, "up", "-d")
    assert up.exit_status == 0, up.stderr
    ps = in_ct(*compose, "ps", "--format", "json")
    assert b'"State":"running"' in ps.stdout and b'"PublishedPort":8096' in ps.stdout

    interfaces = node.lxc(VMID).interfaces.get()
    eth0 = next(item for item in interfaces if item["name"] == "eth0")
    ip = eth0["inet"].split("/")[0]
    assert ip.startswith(sim.cluster.ct_net + ".")
    _wait_status(ip, 200)

    busy = node.lxc(VMID).status.current.get()
    assert busy["mem"] > idle["mem"] + 300 * 1024**2  # the app's memory shows in PVE's figures
    assert busy["netin"] > 400_000_000  # the image pull

    sim.faults.app_never_healthy(int(VMID))
    _wait_status(ip, 503)
    sim.faults.clear()
    _wait_status(ip, 200)

    assert _done(api, node.lxc(VMID).status.stop.post())["exitstatus"] == "OK"
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex((ip, 8096)) != 0  # the responder went away with the CT
    assert _done(api, node.lxc(VMID).status.start.post())["exitstatus"] == "OK"
    _wait_status(ip, 200)  # restart policy: Docker brings the app back at boot
