"""The SSH side of the simulated nodes, end to end with asyncssh as the client (as the SDK uses it)."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proximity.sim.faults import Faults
from proximity.sim.inside import ContainerInside
from proximity.sim.ssh import SshServerHandle, start_ssh_server
from proximity.sim.state import SimContainer, build_cluster

PASSWORD = "correct horse battery staple"
TEMPLATE = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"


def _container(vmid: int, node: str, running: bool) -> SimContainer:
    inside = ContainerInside.new(TEMPLATE, time_scale=0.001, serve_http=False)
    ct = SimContainer(
        vmid,
        node,
        {"hostname": f"ct{vmid}", "net0": "name=eth0,bridge=vmbr0,ip=dhcp"},
        status="running" if running else "stopped",
        inside=inside,
    )
    if running:
        ct.ip = f"127.81.0.{vmid - 100}"
        inside.boot(ct.ip)
    return ct


@pytest.fixture
def cluster() -> Iterator[Any]:
    state = build_cluster(Faults(seed=1), 2)
    for vmid, node, running in ((101, "pve1", True), (102, "pve1", False), (103, "pve2", True)):
        state.containers[vmid] = _container(vmid, node, running)
    yield state
    for ct in state.containers.values():
        ct.inside.close()


@pytest.fixture
def server(cluster: Any) -> Iterator[SshServerHandle]:
    handle = start_ssh_server(cluster, password=PASSWORD, time_scale=0.001)
    yield handle
    handle.close()


async def _run(
    handle: SshServerHandle, command: str, *, node: int = 1, stdin: bytes | None = None, **options: Any
) -> asyncssh.SSHCompletedProcess:
    options.setdefault("password", PASSWORD)
    async with asyncssh.connect(
        f"127.80.0.{node}",
        handle.port,
        username=options.pop("username", "root"),
        known_hosts=options.pop("known_hosts", None),
        **options,
    ) as connection:
        return await connection.run(command, input=stdin, encoding=None, check=False)


def run(handle: SshServerHandle, command: str, **options: Any) -> asyncssh.SSHCompletedProcess:
    return asyncio.run(_run(handle, command, **options))


def test_listens_on_every_node_with_one_port(server: SshServerHandle) -> None:
    assert server.addresses == ["127.80.0.1", "127.80.0.2"]
    assert run(server, "hostname", node=1).stdout == b"pve1\n"
    assert run(server, "hostname", node=2).stdout == b"pve2\n"
    assert server.host_key_fingerprint.startswith("SHA256:")


def test_host_key_verifies_with_the_published_key(server: SshServerHandle) -> None:
    known = asyncssh.import_known_hosts(server.known_hosts_line())
    assert run(server, "true", known_hosts=known).exit_status == 0
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    wrong = asyncssh.import_known_hosts(f"[127.80.0.1]:{server.port} {other}")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        run(server, "true", known_hosts=wrong)


def test_password_login_only_for_root_with_the_right_password(server: SshServerHandle) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        run(server, "true", password="wrong")
    with pytest.raises(asyncssh.PermissionDenied):
        run(server, "true", username="admin")


def test_public_key_login(server: SshServerHandle) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        run(server, "true", password=None, client_keys=[key])
    server.authorize_key(key.export_public_key("openssh").decode())
    result = run(server, "pct status 101", password=None, client_keys=[key])
    assert (result.exit_status, result.stdout) == (0, b"status: running\n")


def test_pct_exec_round_trip_with_stdin(server: SshServerHandle, cluster: Any) -> None:
    assert run(server, "pct exec 101 -- mkdir -p /opt/proximity").exit_status == 0
    secret = b"TOKEN=s3cr3t\nPASSWORD='a b'\n"
    written = run(server, "pct exec 101 -- tee /opt/proximity/.env", stdin=secret)
    assert (written.exit_status, written.stdout) == (0, secret)
    assert run(server, "pct exec 101 -- chmod 600 /opt/proximity/.env").exit_status == 0
    assert cluster.containers[101].inside.fs.mode("/opt/proximity/.env") == 0o600
    assert run(server, "pct exec 101 -- cat /opt/proximity/.env").stdout == secret
    assert run(server, "pct exec 101 -- uname -m").stdout == b"x86_64\n"  # no stdin sent, no hang
    failed = run(server, "pct exec 101 -- cat /nope")
    assert (failed.exit_status, failed.stderr) == (1, b"cat: /nope: No such file or directory\n")
    missing = run(server, "pct exec 101 -- nothing-here")
    assert missing.exit_status == 127
    assert run(server, "pct exec 103 -- true", node=2).exit_status == 0


def test_hostile_argv_arrives_unchanged(server: SshServerHandle, cluster: Any) -> None:
    hostile = ["echo", "x; rm -rf / #", "$(reboot)", "`id`", "'\"", "a\nb", "&& halt", "*", "~"]
    result = run(server, shlex.join(["pct", "exec", "101", "--", *hostile]))
    assert result.exit_status == 0
    assert cluster.containers[101].inside.exec_log[-1] == hostile
    assert result.stdout == (" ".join(hostile[1:]) + "\n").encode()


def test_pve_errors_and_exit_codes(server: SshServerHandle) -> None:
    stopped = run(server, "pct exec 102 -- true")
    assert (stopped.exit_status, stopped.stderr) == (255, b"CT 102 not running\n")
    elsewhere = run(server, "pct exec 103 -- true", node=1)
    assert (elsewhere.exit_status, elsewhere.stderr) == (
        255,
        b"Configuration file 'nodes/pve1/lxc/103.conf' does not exist\n",
    )
    missing = run(server, "pct status 999")
    assert (missing.exit_status, missing.stderr) == (
        255,
        b"Configuration file 'nodes/pve1/lxc/999.conf' does not exist\n",
    )
    bad = run(server, "pct exec abc -- true")
    assert bad.exit_status == 255 and b"type check ('integer') failed - got 'abc'" in bad.stderr
    unknown = run(server, "rm -rf /")
    assert (unknown.exit_status, unknown.stderr) == (127, b"bash: line 1: rm: command not found\n")
    quote = run(server, "pct exec 101 -- echo 'unterminated")
    assert quote.exit_status == 2


def test_pct_status_and_list(server: SshServerHandle) -> None:
    assert run(server, "pct status 102").stdout == b"status: stopped\n"
    lines = run(server, "pct list").stdout.decode().splitlines()
    assert lines[0].split() == ["VMID", "Status", "Lock", "Name"]
    assert [line.split() for line in lines[1:]] == [["101", "running", "ct101"], ["102", "stopped", "ct102"]]
    assert b"pve-manager/9.1" in run(server, "pveversion").stdout


def test_shell_requests_are_refused(server: SshServerHandle) -> None:
    async def open_shell() -> int | None:
        async with asyncssh.connect(
            "127.80.0.1", server.port, username="root", password=PASSWORD, known_hosts=None
        ) as connection:
            process = await connection.create_process()
            process.stdin.write_eof()
            completed = await process.wait()
            return completed.exit_status

    assert asyncio.run(open_shell()) == 1


def test_refused_node_fault(server: SshServerHandle, cluster: Any) -> None:
    cluster.faults.refuse_ssh("pve1")
    with pytest.raises((asyncssh.Error, OSError)):
        run(server, "true", node=1)
    assert run(server, "true", node=2).exit_status == 0
    cluster.faults.clear()
    assert run(server, "true", node=1).exit_status == 0


def test_dropped_mid_command_fault(server: SshServerHandle, cluster: Any) -> None:
    cluster.faults.drop_ssh(node="pve1", count=1)
    try:
        status = run(server, "pct exec 101 -- mkdir -p /srv/after-drop").exit_status
    except (asyncssh.Error, OSError):
        status = -1
    assert status in (None, -1)  # asyncssh reports a lost connection as "no exit status" (or raises)
    # The command ran before the connection dropped: the client cannot tell, which is the point.
    assert cluster.containers[101].inside.fs.is_dir("/srv/after-drop")
    assert (
        run(server, "pct exec 101 -- test -d /srv/after-drop").exit_status == 0
    )  # count=1: next one is fine


ARGUMENT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=st.lists(ARGUMENT, min_size=1, max_size=5))
def test_any_argv_built_with_shlex_join_arrives_unchanged(
    server: SshServerHandle, cluster: Any, arguments: list[str]
) -> None:
    result = run(server, shlex.join(["pct", "exec", "101", "--", "echo", *arguments]))
    assert cluster.containers[101].inside.exec_log[-1] == ["echo", *arguments]
    assert result.exit_status == 0
