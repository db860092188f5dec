"""Map what Proxmox (and the network) answers to Proximity's typed errors, keeping PVE's own message."""

from __future__ import annotations

import re

import requests
from proxmoxer.core import AuthenticationError, ResourceException

from proximity.errors import (
    AlreadyExists,
    AuthFailed,
    Conflict,
    HostUnreachable,
    Locked,
    NotFound,
    PermissionDenied,
    ProximityError,
    ServerError,
    Timeout,
    TLSVerificationFailed,
    ValidationError,
)

LOCKED = re.compile(r"\bis locked\b|can't lock file|got timeout while trying to lock", re.IGNORECASE)
EXISTS = re.compile(r"already exists|already in use", re.IGNORECASE)
MISSING = re.compile(r"does not exist|not found|no such|unknown (?:node|storage|vmid)", re.IGNORECASE)
VERIFY_FAILED = re.compile(r"certificate verify failed: ([^()']+)")
WRONG_STATE = re.compile(r"not running|is running|already running|is a template", re.IGNORECASE)


def map_resource_error(error: ResourceException, where: str) -> ProximityError:
    status = int(error.status_code)
    message = (str(error.content or "").strip() or str(error.status_message or "")).rstrip(".") or "error"
    details: dict[str, str] = {}
    if isinstance(error.errors, dict):
        details = {str(k): str(v).strip() for k, v in error.errors.items()}
    text = f"{message} [{where}]"
    if status == 401:
        return AuthFailed(f"authentication refused: {message}", status=status)
    if status == 403:
        return PermissionDenied(f"permission denied: {message} [{where}]", status=status)
    if status == 400 and details:
        return ValidationError(text, status=status, details=details)
    if LOCKED.search(message):
        return Locked(text, status=status)
    if EXISTS.search(message):
        return AlreadyExists(text, status=status)
    if status == 404 or MISSING.search(message):
        return NotFound(text, status=status)
    if WRONG_STATE.search(message):
        return Conflict(text, status=status)
    if status in (595, 596, 597):
        return HostUnreachable(text, status=status)
    if status >= 500:
        return ServerError(text, status=status, details=details)
    if status == 400:
        return ValidationError(text, status=status, details=details)
    return ProximityError(text, status=status, details=details)


def map_transport_error(error: Exception, url: str) -> ProximityError:
    """Connection-level failures. The message names the host, never the credentials."""
    if isinstance(error, requests.exceptions.SSLError):
        reason = str(error)
        if "fingerprint" in reason.lower():
            return TLSVerificationFailed(f"{url}: the certificate does not match the pinned fingerprint")
        found = VERIFY_FAILED.search(reason)
        why = found.group(1).strip() if found else "the certificate did not verify"
        return TLSVerificationFailed(
            f"{url}: TLS verification failed ({why}; PVE's own certificate is self-signed). Pin its "
            f"fingerprint (`proximity hosts fingerprint {url}` shows it: compare it with the PVE web UI's), "
            "pass its CA file, or opt out with verify_tls=False (not recommended)"
        )
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return HostUnreachable(f"{url}: connection timed out")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return Timeout(f"{url}: no answer in time")
    if isinstance(error, requests.exceptions.ConnectionError):
        return HostUnreachable(f"{url}: cannot connect")
    if isinstance(error, AuthenticationError):
        return AuthFailed(f"{url}: login refused")
    return ProximityError(f"{url}: {type(error).__name__}")
