"""The HTTPS transport: stdlib ``ThreadingHTTPServer`` in TLS, PVE's envelope, auth and error answers.

Order of work for one request, as pveproxy does it: fault injection (latency / drop / error), routing
(501 for unknown methods), authentication (ticket cookie + CSRF header on writes, or API token), the node
proxy (an offline node answers 595), parameter validation against the official schema (400), the
permission check (403), then the handler. Errors go out with PVE's text in the reason phrase.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from proximity.sim.auth import AuthError, Identity
from proximity.sim.context import Call, EncodedJson, Reply, Services, Upload
from proximity.sim.errors import ApiError, parameter_error
from proximity.sim.router import Route, Router
from proximity.sim.schema import ParameterError, PveSchema, UnknownEndpointError

log = logging.getLogger(__name__)
PREFIX = "/api2/json"
MAX_BODY = 64 * 1024 * 1024


class _Dropped(Exception):
    """A fault rule asked to close the connection without answering."""


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], services: Services, router: Router, context: ssl.SSLContext
    ) -> None:
        self.services = services
        self.router = router
        self.ssl_context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the request's own thread, so a slow client never blocks accept().
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


def serve_in_thread(server: ApiServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="pve-sim-https", daemon=True
    )
    thread.start()
    return thread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pveproxy (proxmoxer keeps one session open)
    # Buffer what a handler writes (the stdlib flushes after each request), so a small answer leaves in one
    # TLS record with its headers; a large body is written through. Nagle off: no wait for a delayed ACK.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: ApiServer
    server_version = "pve-api-daemon/3.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # called for every request: format only when it is kept
            log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- one request -------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        try:
            status, reason, body = self._answer(method)
        except _Dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = _encode(body)
        # The reason phrase is one latin-1 line: PVE's message without its newline.
        reason = (
            reason.replace("\r", " ")
            .replace("\n", " ")
            .strip()
            .encode("latin-1", "replace")
            .decode("latin-1")
        )
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", self.date_time_string())
        self.end_headers()
        self.wfile.write(payload)

    def _answer(self, method: str) -> tuple[int, str, dict[str, Any]]:
        services = self.server.services
        url = urlsplit(self.path)
        raw_body = self._read_body()
        if not url.path.startswith(PREFIX):
            return _error(ApiError(501, f"Method '{method} {url.path}' not implemented"))
        api_path = unquote(url.path[len(PREFIX) :]) or "/"
        node = _node_of(api_path)
        fault = services.faults.on_request(method, api_path, node)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            raise _Dropped()
        if fault.error is not None:
            return _error(ApiError(*fault.error))
        try:
            matched = self.server.router.match(method, api_path.rstrip("/") or "/")
            if matched is None:
                raise ApiError(501, f"Method '{method} {api_path}' not implemented")
            route, path_params = matched
            identity = None if route.public else self._authenticate(method)
            if node is not None and node not in services.cluster.nodes and "{node}" in route.template:
                raise ApiError(
                    500,
                    f"hostname lookup '{node}' failed - failed to get address info for: "
                    f"{node}: Name or service not known",
                )
            params, upload = self._parameters(url.query, raw_body)
            params.update(path_params)
            params = _validate(route, method, params)
            if identity is not None and route.permission is not None:
                permission = route.permission
                services.auth.check(
                    identity, _acl_path(permission.path, params), permission.privileges, permission.any_of
                )
            call = Call(services, identity or Identity(""), params, upload)
            result = route.handler(call)
        except ApiError as error:
            return _error(error)
        except Exception as error:  # a bug must answer 500 as pveproxy does, not hang the client
            log.exception("handler failed for %s %s", method, api_path)
            return _error(ApiError(500, f"internal simulator error: {type(error).__name__}: {error}"))
        if isinstance(result, Reply):
            return 200, "OK", {"data": result.data, **result.extra}
        return 200, "OK", {"data": result}

    def _authenticate(self, method: str) -> Identity:
        auth = self.server.services.auth
        header = self.headers.get("Authorization")
        if header:
            return auth.check_token(header)
        ticket = _cookie(self.headers.get("Cookie", ""), "PVEAuthCookie")
        if not ticket:
            raise AuthError("No ticket")
        identity = auth.check_ticket(ticket, not_before=self.server.services.faults.tickets_not_before)
        if method != "GET":
            auth.check_csrf(identity, self.headers.get("CSRFPreventionToken"))
        return identity

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise _Dropped()
        return self.rfile.read(length) if length else b""

    def _parameters(self, query: str, body: bytes) -> tuple[dict[str, Any], Upload | None]:
        params: dict[str, Any] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            _merge(params, key, value)
        content_type = self.headers.get("Content-Type", "")
        upload = None
        if not body:
            return params, None
        if content_type.startswith("application/json"):
            try:
                document = json.loads(body)
            except ValueError as error:
                raise ApiError(400, "malformed JSON body") from error
            if not isinstance(document, dict):
                raise ApiError(400, "malformed JSON body")
            params.update(document)  # JSON values go to the validator as they are, as pveproxy hands them on
        elif content_type.startswith("multipart/form-data"):
            upload = _multipart(params, content_type, body)
        else:
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                _merge(params, key, value)
        return params, upload


def _merge(params: dict[str, Any], key: str, value: str) -> None:
    """A repeated key (requests sends a Python list that way) becomes a list, as PVE's HTTP layer makes it:
    the validator joins it for ``-list`` formats and answers ``got ARRAY`` for a plain string."""
    if key not in params:
        params[key] = value
    elif isinstance(params[key], list):
        params[key].append(value)
    else:
        params[key] = [params[key], value]


def _multipart(params: dict[str, Any], content_type: str, body: bytes) -> Upload | None:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    upload = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            upload = Upload(filename, len(payload))
            params[str(name)] = filename
        elif name:
            params[str(name)] = payload.decode("utf-8", "replace")
    return upload


def _validate(route: Route, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check the parameters as they arrived (strings, lists of repeated keys, JSON values) against the
    official schema; the answer holds them typed. Every served route is in the schema (a test proves it)."""
    try:
        return PveSchema.load().validate(method, route.template, params)
    except UnknownEndpointError:
        return params
    except ParameterError as error:
        raise parameter_error(dict(error.errors)) from error


def _acl_path(template: str, params: dict[str, Any]) -> str:
    """``/vms/{vmid}`` with the request's values (path or body) filled in."""
    return re.sub(r"\{([a-z_-]+)\}", lambda m: str(params.get(m.group(1), "")), template)


def _node_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "nodes" and parts[2] else None


def _cookie(header: str, name: str) -> str | None:
    for item in header.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep and key == name:
            return unquote(value.strip('"'))
    return None


def _encode(body: dict[str, Any]) -> bytes:
    """The answer as compact JSON; ``data`` that is already encoded goes in as it is."""
    data = body.get("data")
    if not isinstance(data, EncodedJson):
        return json.dumps(body, separators=(",", ":")).encode()
    rest = json.dumps({key: value for key, value in body.items() if key != "data"}, separators=(",", ":"))
    return b'{"data":' + data.payload + (b"," + rest[1:-1].encode() if len(rest) > 2 else b"") + b"}"


def _error(error: ApiError) -> tuple[int, str, dict[str, Any]]:
    body: dict[str, Any] = {"data": None, "message": error.message + "\n"}
    if error.errors:
        body["errors"] = error.errors
    return error.status, error.message, body
