"""The SSH side of the simulated nodes: ``ssh root@<node ip> pct ...`` as the SDK runs it on a real host.

``start_ssh_server`` runs asyncssh in a background thread with its own event loop, listening on every node's
address (``127.80.0.1..N``) on one port, with a host key generated at start. Login as ``root`` with the
``root@pam`` password or an authorised public key. Only exec requests are served (no shell); the command is
split with ``shlex`` and understood as PVE's ``pct`` understands it:

- ``pct exec <vmid> [--keep-env 0|1] -- <argv...>``: runs ``argv`` in the CT (``inside.exec``), stdin
  forwarded
  when the command reads it; exit status is the command's.
- ``pct status <vmid>`` -> ``status: running``; ``pct list`` -> PVE's table of the node's CTs.
- ``pct set <vmid> --features <list>`` (as root@pam: the features the API keeps for root@pam alone).
- ``pveversion``, ``hostname``; anything else is ``bash: line 1: X: command not found`` with status 127.

PVE's errors keep its wording and exit status 255 ("CT 101 not running", "Configuration file
'nodes/pve1/lxc/101.conf' does not exist"). Faults come from ``cluster.faults``: ``ssh_refused(node)``
closes a connection to that node before the SSH handshake, ``ssh_should_drop(node)`` runs the command and
then drops the connection before its exit status is sent (the client cannot know whether it ran).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import shlex
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncssh

from proximity.sim.feature_perms import SIMULATED_FEATURES, parse_features
from proximity.sim.responders import is_loopback

log = logging.getLogger(__name__)

PVE_EXIT = 255  # what PVE's command-line tools exit with when they die with a message
COMMAND_THREADS = 32  # commands running at once, over all connections
COMMAND_LOG_SIZE = 5000  # the newest command lines kept per server, for tests that check quoting
PVE_VERSION_LINE = "pve-manager/9.1.1/42db4a6cf33dac83 (running kernel: 6.17.2-1-pve)"


class SshFaults(Protocol):
    def ssh_refused(self, node: str) -> bool: ...
    def ssh_should_drop(self, node: str, command: str = "") -> bool: ...
    def app_unhealthy(self, vmid: int) -> bool: ...


@dataclass
class _Reply:
    rc: int
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class SshServerHandle:
    """A running SSH side. ``port`` is the same on every node address; ``close()`` stops it."""

    port: int
    host_key_fingerprint: str  # "SHA256:..."
    host_public_key: str  # OpenSSH format, for a known_hosts line
    addresses: list[str]
    _service: _SshService = field(repr=False)

    def authorize_key(self, public_key: str) -> None:
        """Let this OpenSSH-format public key log in as root (as ``/root/.ssh/authorized_keys`` would)."""
        self._service.authorize_key(public_key)

    def known_hosts_line(self) -> str:
        """A known_hosts line covering every node address, for clients that verify the host key."""
        hosts = ",".join(f"[{address}]:{self.port}" for address in self.addresses)
        return f"{hosts} {self.host_public_key}"

    def command_log(self) -> list[tuple[str, str]]:
        """(node, command line) of every exec request received, oldest first, exactly as the client
        sent it (before any splitting): what a real node's shell would have been handed."""
        with self._service.log_lock:
            return list(self._service.commands)

    def close(self) -> None:
        self._service.close()


class _SshService:
    def __init__(self, cluster: Any, password: str | None, time_scale: float | None) -> None:
        self.cluster = cluster
        self.password = password
        self.time_scale = time_scale
        self.authorized: set[bytes] = set()
        self.commands: deque[tuple[str, str]] = deque(maxlen=COMMAND_LOG_SIZE)
        self.log_lock = threading.Lock()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="sim-ssh", daemon=True)
        # Commands block (installs and pulls take simulated time): give them their own threads.
        self.workers = ThreadPoolExecutor(max_workers=COMMAND_THREADS, thread_name_prefix="sim-ssh-cmd")
        self.servers: list[asyncssh.SSHAcceptor] = []
        self._closed = False

    # -- set-up ----------------------------------------------------------------------------------------
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def authorize_key(self, public_key: str) -> None:
        key = asyncssh.import_public_key(public_key)
        self.authorized.add(key.public_data)

    def node_addresses(self) -> dict[str, str]:
        with self.cluster.lock:
            return {node.ip: name for name, node in sorted(self.cluster.nodes.items())}

    async def _listen(self, port: int) -> int:
        """Listen on every node address with one port (the first bind picks it when ``port`` is 0)."""
        addresses = list(self.node_addresses())
        outside = [a for a in addresses if not is_loopback(a)]
        if outside:
            raise ValueError(f"node addresses must be in 127.0.0.0/8, not {outside}")
        for _attempt in range(5):
            chosen = port
            try:
                for address in addresses:
                    server = await asyncssh.create_server(
                        lambda: _ServerConnection(self),
                        address,
                        chosen,
                        server_host_keys=[self.host_key],
                        process_factory=self._handle,
                        encoding=None,
                        reuse_address=True,
                        allow_scp=False,
                        sftp_factory=None,
                        agent_forwarding=False,
                        x11_forwarding=False,
                    )
                    self.servers.append(server)
                    if chosen == 0:
                        chosen = server.get_port()
                return chosen
            except OSError:
                await self._close_servers()
                if port != 0:
                    raise
        raise OSError("could not find one free port on every node address")

    async def _close_servers(self) -> None:
        servers, self.servers = self.servers, []
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()

    def start(self, port: int) -> int:
        self.thread.start()
        future: Future[int] = asyncio.run_coroutine_threadsafe(self._listen(port), self.loop)
        try:
            return future.result(timeout=30)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self._close_servers(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()
        self.workers.shutdown(wait=False, cancel_futures=True)

    # -- authentication --------------------------------------------------------------------------------
    def check_password(self, username: str, password: str) -> bool:
        if username != "root" or not self.password:
            return False
        return hmac.compare_digest(password.encode(), self.password.encode())

    def check_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == "root" and key.public_data in self.authorized

    # -- commands --------------------------------------------------------------------------------------
    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        node = process.get_extra_info("node_name", "")
        command = process.command
        if command is None:
            process.stderr.write(b"proximity-sim: interactive shells are not simulated; run a command\n")
            process.exit(1)
            return
        with self.log_lock:
            self.commands.append((node, command))
        try:
            argv = shlex.split(command)
        except ValueError:
            process.stderr.write(b"bash: -c: line 1: unexpected EOF while looking for matching quote\n")
            process.exit(2)
            return
        stdin = b""
        if self._reads_stdin(node, argv):
            stdin = await process.stdin.read()
        reply = await self.loop.run_in_executor(self.workers, self.run_command, node, argv, stdin)
        if self.cluster.faults.ssh_should_drop(node, command):
            log.info("ssh fault: dropping the connection to %s after %r", node, argv[:3])
            process.channel.get_connection().abort()
            return
        if reply.stdout:
            process.stdout.write(reply.stdout)
        if reply.stderr:
            process.stderr.write(reply.stderr)
        process.exit(reply.rc)

    def _reads_stdin(self, node: str, argv: list[str]) -> bool:
        parsed = _parse_pct_exec(argv)
        if parsed is None or isinstance(parsed, str):
            return False
        vmid, inner = parsed
        with self.cluster.lock:
            ct = self.cluster.containers.get(vmid)
            inside = ct.inside if ct is not None and ct.node == node else None
        return inside is not None and inside.reads_stdin(inner)

    def run_command(self, node: str, argv: list[str], stdin: bytes) -> _Reply:
        """Run one command line on ``node`` (public for tests that skip the transport)."""
        if not argv:
            return _Reply(0)
        program = argv[0]
        if program == "pct":
            return self._pct(node, argv[1:], stdin)
        if program == "pveversion":
            return _Reply(0, (PVE_VERSION_LINE + "\n").encode())
        if program == "hostname":
            return _Reply(0, f"{node}\n".encode())
        if program == "true":
            return _Reply(0)
        return _Reply(127, b"", f"bash: line 1: {program}: command not found\n".encode())

    def _pct(self, node: str, args: list[str], stdin: bytes) -> _Reply:
        if not args:
            return _die("ERROR: no command specified\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")
        sub = args[0]
        if sub == "exec":
            parsed = _parse_pct_exec(["pct", *args])
            if isinstance(parsed, str):
                return _die(parsed)
            assert parsed is not None
            vmid, inner = parsed
            return self._pct_exec(node, vmid, inner, stdin)
        if sub == "status":
            if len(args) < 2:
                return _die("400 not enough arguments\npct status <vmid> [OPTIONS]")
            status_vmid = _vmid(args[1])
            if isinstance(status_vmid, str):
                return _die(status_vmid)
            with self.cluster.lock:
                ct = self._container(node, status_vmid)
                if isinstance(ct, _Reply):
                    return ct
                return _Reply(0, f"status: {ct.status}\n".encode())
        if sub == "list":
            return self._pct_list(node)
        if sub == "set":
            return self._pct_set(node, args[1:])
        if sub in ("push", "pull"):
            return _die(
                f"proximity-sim: 'pct {sub}' is not simulated; write files with "
                "'pct exec <vmid> -- tee <path>' and read them with 'pct exec <vmid> -- cat <path>'"
            )
        return _die(f"ERROR: unknown command 'pct {sub}'\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]")

    def _pct_set(self, node: str, args: list[str]) -> _Reply:
        """``pct set <vmid> --features <list>``: the only option simulated. It runs as root@pam, so the
        features the API keeps for root@pam alone (``keyctl``, ``fuse``) may be set here."""
        if len(args) < 1:
            return _die("400 not enough arguments\npct set <vmid> [OPTIONS]")
        vmid = _vmid(args[0])
        if isinstance(vmid, str):
            return _die(vmid)
        options = args[1:]
        if len(options) != 2 or options[0] != "--features":
            return _die("proximity-sim: 'pct set' simulates only '--features <list>'")
        wanted = parse_features(options[1])
        bad = sorted(k for k, v in wanted.items() if k not in SIMULATED_FEATURES or v not in ("0", "1"))
        if bad or not wanted:
            return _die(f"400 Parameter verification failed.\nfeatures: invalid format - {options[1]}")
        with self.cluster.lock:
            ct = self._container(node, vmid)
            if isinstance(ct, _Reply):
                return ct
            if ct.lock:
                return _die(f"CT is locked ({ct.lock})")
            ct.config["features"] = options[1]
            self.cluster.changed()
        return _Reply(0)

    def _container(self, node: str, vmid: int) -> Any:
        ct = self.cluster.containers.get(vmid)
        if ct is None or ct.node != node:
            return _die(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
        return ct

    def _pct_exec(self, node: str, vmid: int, argv: list[str], stdin: bytes) -> _Reply:
        with self.cluster.lock:
            ct = self._container(node, vmid)
            if isinstance(ct, _Reply):
                return ct
            if ct.status != "running":
                return _die(f"CT {vmid} not running")
            inside = ct.inside
            hostname = ct.name
        if inside is None:
            return _die("proximity-sim: this container has no simulated inside")
        if not argv:
            return _die("400 missing command\npct exec <vmid> [<extra-args>] [OPTIONS]")
        faults = self.cluster.faults
        inside.configure(
            vmid=vmid,
            hostname=hostname,
            time_scale=self.time_scale,
            never_healthy=lambda: faults.app_unhealthy(vmid),
        )
        result = inside.exec(argv, stdin)
        return _Reply(result.rc, result.stdout, result.stderr)

    def _pct_list(self, node: str) -> _Reply:
        row = "{:<10} {:<10} {:<12} {:<20}\n"
        lines = [row.format("VMID", "Status", "Lock", "Name")]
        with self.cluster.lock:
            for vmid, ct in sorted(self.cluster.containers.items()):
                if ct.node == node:
                    lines.append(row.format(vmid, ct.status, ct.lock or "", ct.name))
        return _Reply(0, "".join(lines).encode())


class _ServerConnection(asyncssh.SSHServer):
    """One client connection: which node it reached, refusal by fault, root login by password or key."""

    def __init__(self, service: _SshService) -> None:
        self.service = service
        self.node = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        address = conn.get_extra_info("sockname")[0]
        self.node = self.service.node_addresses().get(address, "")
        conn.set_extra_info(node_name=self.node)
        if self.service.cluster.faults.ssh_refused(self.node):
            log.info("ssh fault: refusing a connection to %s", self.node)
            conn.abort()

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.service.check_password(username, password)

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return self.service.check_key(username, key)


def _die(message: str) -> _Reply:
    return _Reply(PVE_EXIT, b"", (message.rstrip("\n") + "\n").encode())


def _vmid(text: str) -> int | str:
    if not text.isdigit() or not 100 <= int(text) <= 999_999_999:
        return (
            f"400 Parameter verification failed.\nvmid: type check ('integer') failed - got '{text}'\n"
            "pct <command> <vmid> [OPTIONS]"
        )
    return int(text)


def _parse_pct_exec(argv: list[str]) -> tuple[int, list[str]] | str | None:
    """``pct exec <vmid> [--keep-env 0|1] [--] argv...`` -> (vmid, argv), an error text, or None."""
    if len(argv) < 2 or argv[0] != "pct" or argv[1] != "exec":
        return None
    if len(argv) < 3:
        return "400 not enough arguments\npct exec <vmid> [<extra-args>] [OPTIONS]"
    vmid = _vmid(argv[2])
    if isinstance(vmid, str):
        return vmid
    rest = argv[3:]
    while rest and rest[0] == "--keep-env" and len(rest) >= 2:
        rest = rest[2:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    return vmid, rest


def start_ssh_server(
    cluster: Any,
    port: int = 0,
    *,
    password: str | None = None,
    authorized_keys: Iterable[str] = (),
    time_scale: float | None = None,
) -> SshServerHandle:
    """Serve SSH on every node of ``cluster`` (see the module docstring).

    ``password`` is root's password (the simulator's ``root@pam`` password); ``authorized_keys`` are
    OpenSSH-format public keys allowed to log in as root; ``time_scale`` is handed to the containers' insides.
    """
    service = _SshService(cluster, password, time_scale)
    for key in authorized_keys:
        service.authorize_key(key)
    chosen = service.start(port)
    return SshServerHandle(
        port=chosen,
        host_key_fingerprint=service.host_key.get_fingerprint("sha256"),
        host_public_key=service.host_key.export_public_key("openssh").decode().strip(),
        addresses=sorted(service.node_addresses()),
        _service=service,
    )
