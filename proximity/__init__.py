"""Proximity: a typed Python SDK that turns Proxmox VE into a personal app store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proximity.errors import (
    AlreadyExists,
    AuthFailed,
    Cancelled,
    CommandFailed,
    ConfirmationRequired,
    Conflict,
    HealthCheckFailed,
    HostKeyMismatch,
    HostUnreachable,
    InsecureConnectionWarning,
    Locked,
    NotFound,
    PermissionDenied,
    ProximityError,
    ServerError,
    TaskFailed,
    Timeout,
    TLSVerificationFailed,
    ValidationError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from proximity.client import AsyncProximity, Proximity

__all__ = [
    "AlreadyExists",
    "AsyncProximity",
    "AuthFailed",
    "Cancelled",
    "CommandFailed",
    "ConfirmationRequired",
    "Conflict",
    "HealthCheckFailed",
    "HostKeyMismatch",
    "HostUnreachable",
    "InsecureConnectionWarning",
    "Locked",
    "NotFound",
    "PermissionDenied",
    "Proximity",
    "ProximityError",
    "ServerError",
    "TLSVerificationFailed",
    "TaskFailed",
    "Timeout",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The clients are imported on first use so ``proximity --help`` and the simulator stay light.
    if name in ("Proximity", "AsyncProximity"):
        from proximity import client

        return getattr(client, name)
    raise AttributeError(f"module 'proximity' has no attribute {name!r}")
