"""HTTP servers on a running container's address, answering for the apps inside it.

One ``ThreadingHTTPServer`` (daemon threads, ``SO_REUSEADDR``) per listening TCP port, bound on
``(ct_ip, port)``. Any GET answers 200 with a small page naming the app and the container (JSON on
health-style paths) once the app has warmed up; before that, and forever under the "app never healthy"
fault, every path answers 503. ``ResponderSet.sync`` is called by the container whenever what listens
changes (boot, halt, an exec), so the servers follow the container through stop, delete and migration.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

log = logging.getLogger(__name__)

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_JSON_HINTS = ("health", "status", "ping", "ready", "live", "alive", "heartbeat")


class ListenerInfo(Protocol):
    @property
    def port(self) -> int: ...
    @property
    def app(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def ready(self) -> bool: ...


class ServedContainer(Protocol):
    """What a responder needs from the container (``inside.ContainerInside``)."""

    hostname: str
    vmid: int | None

    def listener(self, port: int) -> ListenerInfo | None: ...
    def count_traffic(self, received: int, sent: int) -> None: ...


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], container: ServedContainer) -> None:
        self.container = container
        super().__init__(address, _Handler)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in LOOPBACK
    except ValueError:
        return False


def wants_json(path: str) -> bool:
    """Health-style paths (``/health``, ``/api/health``, ``/status.php``, ``/ping``) and ``*.json``: JSON."""
    lowered = path.split("?", 1)[0].lower()
    return lowered.endswith(".json") or any(hint in lowered for hint in _JSON_HINTS)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "proximity-sim"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't let them wait 40 ms

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        container = self.server.container
        ct_ip, port = str(self.server.server_address[0]), int(self.server.server_address[1])
        listener = container.listener(port)
        ct_name = container.hostname
        vmid = container.vmid
        if listener is None:  # stopped listening between the request and now
            self.close_connection = True
            self.send_error(503, "Service Unavailable")
            return
        status = 200 if listener.ready else 503
        state = "ok" if listener.ready else "starting"
        if wants_json(self.path):
            payload = {
                "status": state,
                "app": listener.app,
                "unit": listener.unit,
                "ct": ct_name,
                "vmid": vmid,
                "address": f"{ct_ip}:{port}",
            }
            body = json.dumps(payload).encode()
            content_type = "application/json"
        else:
            title = html.escape(listener.app)
            where = html.escape(f"{ct_name} ({ct_ip}:{port})" + (f", CT {vmid}" if vmid is not None else ""))
            message = "is running" if listener.ready else "is starting, please wait"
            body = (
                f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
                f"<body><h1>{title}</h1><p>{title} {message}.</p><p>Container: {where}</p>"
                "<p><small>Served by the Proximity simulator.</small></p></body></html>"
            ).encode()
            content_type = "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        if with_body:
            self.wfile.write(body)
        request_bytes = len(self.requestline) + sum(len(k) + len(v) + 4 for k, v in self.headers.items())
        container.count_traffic(request_bytes, len(body) + 160)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s:%s %s", self.server.server_address[0], self.server.server_address[1], format % args)


class ResponderSet:
    """The HTTP servers of one container. ``errors`` maps a port that could not be bound to the reason."""

    def __init__(self, container: ServedContainer) -> None:
        self.container = container
        self.errors: dict[int, str] = {}
        self._servers: dict[tuple[str, int], _Server] = {}
        self._lock = threading.Lock()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        with self._lock:
            return sorted(self._servers)

    def sync(self, ip: str | None, ports: list[int]) -> None:
        """Serve exactly ``ports`` on ``ip`` (nothing when ``ip`` is None)."""
        wanted = {(ip, port) for port in ports} if ip else set()
        with self._lock:
            self._stop([a for a in self._servers if a not in wanted])
            for address in sorted(wanted - set(self._servers)):
                self._start(address)
            self.errors = {port: reason for port, reason in self.errors.items() if (ip, port) in wanted}

    def close(self) -> None:
        self.sync(None, [])

    def _start(self, address: tuple[str, int]) -> None:
        if not is_loopback(address[0]):
            # A static CT address such as 192.168.1.50 may exist on this machine's LAN: never serve there.
            self.errors[address[1]] = (
                f"{address[0]} is not a loopback address; the simulator serves only 127.0.0.0/8"
            )
            return
        try:
            server = _Server(address, self.container)
        except OSError as error:
            if address[1] in self.errors:
                return
            self.errors[address[1]] = error.strerror or str(error)
            log.warning("cannot serve %s:%s for the simulated app: %s", address[0], address[1], error)
            return
        self.errors.pop(address[1], None)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.25},
            name=f"responder-{address[0]}:{address[1]}",
            daemon=True,
        )
        thread.start()
        self._servers[address] = server

    def _stop(self, addresses: list[tuple[str, int]]) -> None:
        """Shut the servers down together, so a CT with many ports stops in one poll interval."""
        servers = [self._servers.pop(address) for address in addresses]
        stoppers = [threading.Thread(target=server.shutdown, daemon=True) for server in servers]
        for stopper in stoppers:
            stopper.start()
        for stopper, server in zip(stoppers, servers, strict=False):
            stopper.join()
            server.server_close()
