"""The typed errors every layer of Proximity raises.

Each error carries a human message (for Proxmox errors: the real PVE message) and never a secret.
`retryable` tells the job engine whether trying again may help (connection errors, 5xx, locks).
"""

from __future__ import annotations


class ProximityError(Exception):
    """Base of every error Proximity raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, details: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = dict(details or {})

    def __str__(self) -> str:
        if not self.details:
            return self.message
        extra = "; ".join(f"{key}: {value}" for key, value in sorted(self.details.items()))
        return f"{self.message} ({extra})"


class NotFound(ProximityError):
    """The host, app, container, backup, job or catalog entry does not exist."""


class Conflict(ProximityError):
    """The request clashes with the current state (a name or VMID in use, a CT in the wrong state)."""


class AlreadyExists(Conflict):
    """Something with that name or id already exists."""


class Locked(Conflict):
    """The container is locked by another operation (PVE: "CT is locked (...)"). Retrying may help."""

    retryable = True


class PermissionDenied(ProximityError):
    """The credentials are valid but lack a privilege (PVE 403)."""


class AuthFailed(ProximityError):
    """The credentials were refused (PVE 401, wrong token or password, SSH login refused)."""


class HostUnreachable(ProximityError):
    """The host could not be reached (connection refused, DNS, TLS handshake, timeout on connect)."""

    retryable = True


class TLSVerificationFailed(HostUnreachable):
    """The certificate did not verify, or its fingerprint differs from the pinned one. Never retried."""

    retryable = False


class HostKeyMismatch(ProximityError):
    """A node's SSH host key differs from the one pinned when the host was added."""


class ServerError(ProximityError):
    """PVE answered 5xx. Usually transient."""

    retryable = True


class ValidationError(ProximityError):
    """A value was refused, by Proximity before sending or by PVE ("Parameter verification failed.")."""


class Timeout(ProximityError):
    """Waiting for a task, a health check or a state change took longer than allowed."""


class TaskFailed(ProximityError):
    """A PVE task ended with an exit status other than OK; carries the tail of its log."""

    def __init__(self, message: str, *, upid: str, exitstatus: str, log_tail: list[str]):
        super().__init__(message, details={"task": upid, "exitstatus": exitstatus})
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = list(log_tail)

    def __str__(self) -> str:
        tail = "\n  ".join(self.log_tail[-10:])
        return f"{self.message} (exit status: {self.exitstatus})" + (f"\n  {tail}" if tail else "")


class CommandFailed(ProximityError):
    """A command run inside a container (`pct exec`) exited non-zero."""

    def __init__(self, message: str, *, exit_code: int, stderr_tail: str = ""):
        super().__init__(message, details={"exit code": str(exit_code)})
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class HealthCheckFailed(ProximityError):
    """The app did not answer its health check in time."""


class Cancelled(ProximityError):
    """A job was cancelled by its caller."""


class ConfirmationRequired(ProximityError):
    """A destructive verb was called without confirmation."""


class InsecureConnectionWarning(UserWarning):
    """TLS verification was switched off for a host (``verify_tls=False`` with no CA file and no pin)."""
