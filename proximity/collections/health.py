"""Is the app up? An HTTP(S) GET answering one of the expected statuses, or a TCP connect, polled until a
deadline with a growing interval.

HTTPS probes verify the certificate chain against the system CAs, except that a self-signed certificate
(what apps make for themselves on first start) is accepted: the probe sends no credentials and only asks
"is it up?". Every other TLS failure fails the probe."""

from __future__ import annotations

import ssl
import time

import anyio
import anyio.abc

from proximity.errors import HealthCheckFailed, ValidationError

# OpenSSL's verify codes for a certificate that signed itself (depth 0), or a chain ending in a
# certificate that signed itself: what an app generates for itself on first start.
SELF_SIGNED_CODES = (18, 19)


def _verifying_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False  # the probe dials the CT's address, never a name in the certificate
    return context


def _accepting_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _open(address: str, port: int, https: bool) -> tuple[anyio.abc.ByteStream, str]:
    """A connection to the app; for https the chain is verified against the system CAs and a self-signed
    certificate (only that verification failure) is accepted, since the probe sends nothing secret."""
    if not https:
        return await anyio.connect_tcp(address, port), "http"
    try:
        stream = await anyio.connect_tcp(
            address, port, tls=True, ssl_context=_verifying_context(), tls_standard_compatible=False
        )
        return stream, "https"
    except ssl.SSLCertVerificationError as error:
        if error.verify_code not in SELF_SIGNED_CODES:
            raise
    stream = await anyio.connect_tcp(
        address, port, tls=True, ssl_context=_accepting_context(), tls_standard_compatible=False
    )
    return stream, "https, self-signed"


def request_target(path: str) -> str:
    """The request target of a health path: the path and its query string (``/api?mode=version``)."""
    if not path.startswith("/") or any(c in path for c in " \r\n\t") or not path.isascii():
        raise ValidationError(f"not a usable health path: {path!r}")
    return path


async def http_status(
    address: str, port: int, path: str, *, https: bool = False, timeout_s: float = 5.0
) -> int:
    """The status code of ``GET path`` (HTTP/1.1, Connection: close). Raises OSError/TimeoutError."""
    status, _ = await http_probe(address, port, path, https=https, timeout_s=timeout_s)
    return status


async def http_probe(
    address: str, port: int, path: str, *, https: bool = False, timeout_s: float = 5.0
) -> tuple[int, str]:
    """``(status, how)``: the status code of ``GET path`` and how it was reached (``http``, ``https``,
    ``https, self-signed``)."""
    target = request_target(path)
    with anyio.fail_after(timeout_s):
        stream, how = await _open(address, port, https)
        async with stream:
            request = (
                f"GET {target} HTTP/1.1\r\nHost: {address}:{port}\r\nUser-Agent: proximity\r\n"
                "Connection: close\r\n\r\n"
            )
            await stream.send(request.encode())
            head = b""
            while b"\r\n" not in head and len(head) < 4096:
                chunk = await stream.receive()
                head += chunk
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OSError("not an HTTP answer")
    return int(parts[1]), how


async def tcp_open(address: str, port: int, timeout_s: float = 5.0) -> bool:
    with anyio.fail_after(timeout_s):
        stream = await anyio.connect_tcp(address, port)
        await stream.aclose()
    return True


async def wait_healthy(
    address: str,
    port: int,
    *,
    kind: str = "http",
    path: str = "/",
    expect: list[int] | None = None,
    https: bool = False,
    timeout_s: float = 180.0,
    first_interval_s: float = 0.05,
    max_interval_s: float = 2.0,
) -> str:
    """Poll until healthy; returns a short description. Raises HealthCheckFailed with the last answer."""
    expected = expect or [200]
    deadline = time.monotonic() + timeout_s
    interval = first_interval_s
    last = "no answer"
    while True:
        try:
            if kind == "tcp":
                await tcp_open(address, port, timeout_s=min(5.0, timeout_s))
                return f"tcp {address}:{port} open"
            status, how = await http_probe(address, port, path, https=https, timeout_s=min(5.0, timeout_s))
            if status in expected:
                return f"GET {path} -> {status} ({how})"
            last = f"GET {path} -> {status}"
        except (OSError, TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError) as error:
            last = f"{type(error).__name__}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HealthCheckFailed(f"{address}:{port} not healthy after {timeout_s:.0f}s (last: {last})")
        await anyio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_interval_s)
