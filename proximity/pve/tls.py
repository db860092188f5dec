"""TLS for the PVE API: CA verification on by default, optional SHA-256 fingerprint pinning.

Pinning uses urllib3's ``assert_fingerprint``: the peer certificate's digest must equal the pinned one,
checked during the handshake, before any credential is sent.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from proximity.errors import ValidationError

_HEX = re.compile(r"^[0-9a-f]{64}$")


def normalise_fingerprint(fingerprint: str) -> str:
    """ "AA:BB:..." or "aabb..." -> 64 lower-case hex digits (SHA-256)."""
    cleaned = fingerprint.replace(":", "").replace(" ", "").strip().lower()
    if cleaned.startswith("sha256"):
        cleaned = cleaned[len("sha256") :].lstrip("=/")
    if not _HEX.match(cleaned):
        raise ValidationError(
            "a certificate fingerprint must be a SHA-256 digest (64 hex digits, colons allowed)"
        )
    return cleaned


def format_fingerprint(hex_digest: str) -> str:
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2)).upper()


def fetch_fingerprint(url: str, timeout: float = 5.0) -> str:
    """The SHA-256 fingerprint of the certificate a server presents (to show the user before pinning)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 8006
    pem = ssl.get_server_certificate((host, port), timeout=timeout)
    der = ssl.PEM_cert_to_DER_cert(pem)
    return format_fingerprint(hashlib.sha256(der).hexdigest())


class PinnedAdapter(HTTPAdapter):
    """An HTTPS adapter that refuses any certificate whose SHA-256 digest is not the pinned one."""

    def __init__(self, fingerprint: str, **kwargs: Any):
        self.fingerprint = normalise_fingerprint(fingerprint)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)
