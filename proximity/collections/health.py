"""Is the app up? An HTTP GET answering one of the expected statuses, or a TCP connect, polled until a
deadline with a growing interval."""

from __future__ import annotations

import ssl
import time

import anyio

from proximity.errors import HealthCheckFailed


async def http_status(
    address: str, port: int, path: str, *, https: bool = False, timeout_s: float = 5.0
) -> int:
    """The status code of ``GET path`` (HTTP/1.1, Connection: close). Raises OSError/TimeoutError."""
    with anyio.fail_after(timeout_s):
        if https:
            context = ssl.create_default_context()
            # Apps answer with their own self-signed certificates; this probe only asks "is it up?".
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            stream = await anyio.connect_tcp(
                address, port, tls=True, ssl_context=context, tls_standard_compatible=False
            )
        else:
            stream = await anyio.connect_tcp(address, port)
        async with stream:
            request = f"GET {path} HTTP/1.1\r\nHost: {address}:{port}\r\nUser-Agent: proximity\r\nConnection: close\r\n\r\n"
            await stream.send(request.encode())
            head = b""
            while b"\r\n" not in head and len(head) < 4096:
                chunk = await stream.receive()
                head += chunk
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OSError("not an HTTP answer")
    return int(parts[1])


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
            status = await http_status(address, port, path, https=https, timeout_s=min(5.0, timeout_s))
            if status in expected:
                return f"GET {path} -> {status}"
            last = f"GET {path} -> {status}"
        except (OSError, TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError) as error:
            last = f"{type(error).__name__}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HealthCheckFailed(f"{address}:{port} not healthy after {timeout_s:.0f}s (last: {last})")
        await anyio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_interval_s)
