"""SSH to PVE nodes (asyncssh) to run ``pct`` commands, always built with ``shlex.join``.

Host keys: pinned on first use (the key seen when the host is added is stored in the database), then
every later connection must present that key or is refused.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import anyio
import asyncssh
from pydantic import SecretStr

from proximity.errors import AuthFailed, CommandFailed, HostKeyMismatch, HostUnreachable


@dataclass(frozen=True)
class ExecResult:
    rc: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class SshTarget:
    address: str
    port: int = 22
    user: str = "root"
    password: SecretStr | None = None
    private_key: SecretStr | None = None
    host_key: str | None = None  # OpenSSH public key line; None: trust on first use

    def __repr__(self) -> str:
        return f"SshTarget({self.user}@{self.address}:{self.port})"


def pct(*argv: str | int) -> str:
    return shlex.join(["pct", *(str(a) for a in argv)])


def pct_exec(vmid: int, argv: list[str]) -> str:
    return shlex.join(["pct", "exec", str(vmid), "--", *argv])


class NodeShell:
    """One SSH connection to a node, opened lazily and reused; safe for concurrent commands."""

    def __init__(self, target: SshTarget, connect_timeout_s: float = 10.0):
        self.target = target
        self.connect_timeout_s = connect_timeout_s
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = anyio.Lock()
        self.seen_host_key: str | None = None

    async def _connect(self) -> asyncssh.SSHClientConnection:
        async with self._lock:
            if self._conn is not None:
                return self._conn
            t = self.target
            known_hosts: object = None
            if t.host_key:
                known_hosts = ([asyncssh.import_public_key(t.host_key)], [], [])
            keys = [asyncssh.import_private_key(t.private_key.get_secret_value())] if t.private_key else None
            try:
                conn = await asyncssh.connect(
                    t.address,
                    port=t.port,
                    username=t.user,
                    password=t.password.get_secret_value() if t.password else None,
                    client_keys=keys,
                    known_hosts=known_hosts,
                    agent_path=None,
                    connect_timeout=self.connect_timeout_s,
                    login_timeout=self.connect_timeout_s,
                )
            except asyncssh.HostKeyNotVerifiable:
                raise HostKeyMismatch(
                    f"{t!r}: the SSH host key differs from the one pinned when the host was added"
                ) from None
            except asyncssh.PermissionDenied:
                raise AuthFailed(f"{t!r}: SSH login refused") from None
            except (OSError, asyncssh.Error, TimeoutError) as error:
                raise HostUnreachable(f"{t!r}: SSH connection failed ({type(error).__name__})") from None
            key = conn.get_server_host_key()
            self.seen_host_key = key.export_public_key().decode().strip() if key else None
            self._conn = conn
            return conn

    async def host_key(self) -> str | None:
        """Connect (if needed) and return the node's host key as an OpenSSH line (for pinning)."""
        await self._connect()
        return self.seen_host_key

    async def run(
        self,
        command: str,
        *,
        stdin: bytes | str | None = None,
        check: bool = True,
        timeout_s: float = 600.0,
        what: str | None = None,
    ) -> ExecResult:
        """Run one already-quoted command line. ``what`` names it in errors instead of the line itself
        (the line may carry values the user should not see in logs)."""
        conn = await self._connect()
        data = stdin.decode() if isinstance(stdin, bytes) else stdin
        try:
            if data == "":
                # asyncssh sends end-of-file only after non-empty input; an empty file must still end.
                result = await conn.run(command, stdin=asyncssh.DEVNULL, check=False, timeout=timeout_s)
            else:
                result = await conn.run(command, input=data, check=False, timeout=timeout_s)
        except asyncssh.TimeoutError:
            raise HostUnreachable(f"{self.target!r}: command timed out after {timeout_s:.0f}s") from None
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError) as error:
            self._conn = None
            raise HostUnreachable(f"{self.target!r}: SSH connection lost ({type(error).__name__})") from None
        out = result.stdout if isinstance(result.stdout, str) else (result.stdout or b"").decode()
        err = result.stderr if isinstance(result.stderr, str) else (result.stderr or b"").decode()
        if result.exit_status is None and result.exit_signal is None:
            # the connection went away before the exit status: the command may or may not have run
            self._conn = None
            raise HostUnreachable(
                f"{self.target!r}: SSH connection lost before the command's exit status (its outcome is unknown)"
            )
        rc = result.exit_status if result.exit_status is not None else 255
        if check and rc != 0:
            label = what or command.split(" -- ")[0]
            raise CommandFailed(
                f"{label} exited {rc}: {err.strip()[-300:]}", exit_code=rc, stderr_tail=err[-2000:]
            )
        return ExecResult(rc=rc, stdout=out, stderr=err)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
