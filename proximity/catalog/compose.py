"""Reading the parts of a Docker Compose document that the lint rules and importers need.

Both the short and the long Compose syntax are understood for ports, volumes and environment. Values that
use ``${VAR}`` interpolation are returned as written (a published port of ``${PORT}`` is "unknown").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PROTOCOLS = ("tcp", "udp", "sctp")


class ComposeFormatError(ValueError):
    """A part of a Compose document that does not follow the Compose syntax."""


@dataclass(frozen=True)
class PortMapping:
    service: str
    target: int
    published: int | None  # None: not published, or published on a ${VARIABLE}
    protocol: str
    published_is_variable: bool = False


@dataclass(frozen=True)
class Mount:
    service: str
    kind: Literal["bind", "volume", "anonymous", "tmpfs"]
    source: str | None  # host path for binds, the volume name for named volumes
    target: str
    read_only: bool


@dataclass(frozen=True)
class VariableReference:
    name: str
    has_default: bool  # ${NAME:-x}, ${NAME-x}: compose works without a value


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    if not isinstance(found, dict):
        return {}
    return {name: service for name, service in found.items() if isinstance(service, dict)}


def parse_port(spec: Any, service: str = "") -> list[PortMapping]:
    """One ``ports:`` item (``"8080:80/tcp"``, ``80``, a long-syntax mapping) as mappings, ranges expanded."""
    if isinstance(spec, bool):
        raise ComposeFormatError(f"port {spec!r} is not a port")
    if isinstance(spec, int):
        return [PortMapping(service, spec, None, "tcp")]
    if isinstance(spec, dict):
        return _parse_long_port(spec, service)
    if not isinstance(spec, str):
        raise ComposeFormatError(f"port {spec!r} is not a port")
    text, _, protocol = spec.strip().partition("/")
    protocol = protocol or "tcp"
    if protocol not in _PROTOCOLS:
        raise ComposeFormatError(f"port {spec!r}: unknown protocol {protocol!r}")
    if text.startswith("["):  # an IPv6 host address: "[::1]:8080:80"
        _, _, text = text.partition("]:")
    parts = _split_colons(text)
    if not 1 <= len(parts) <= 3 or not parts[-1]:
        raise ComposeFormatError(f"port {spec!r} is not in the form [ip:][published:]target[/protocol]")
    targets = _port_range(parts[-1], spec)
    published_text = parts[-2] if len(parts) >= 2 else ""
    if not published_text:
        return [PortMapping(service, target, None, protocol) for target in targets]
    if published_text.startswith("$"):
        return [
            PortMapping(service, target, None, protocol, published_is_variable=True) for target in targets
        ]
    published = _port_range(published_text, spec)
    if len(published) == 1 and len(targets) > 1:
        published = published * len(targets)
    if len(published) != len(targets):
        raise ComposeFormatError(f"port {spec!r}: the published and target ranges differ in length")
    return [PortMapping(service, t, p, protocol) for t, p in zip(targets, published, strict=True)]


def _parse_long_port(spec: dict[str, Any], service: str) -> list[PortMapping]:
    target = spec.get("target")
    if not isinstance(target, int) or isinstance(target, bool):
        raise ComposeFormatError(f"port {spec!r}: 'target' must be a number")
    protocol = str(spec.get("protocol", "tcp"))
    published = spec.get("published")
    if published is None:
        return [PortMapping(service, target, None, protocol)]
    text = str(published)
    if text.startswith("${"):
        return [PortMapping(service, target, None, protocol, published_is_variable=True)]
    if not _PORT_DIGITS.fullmatch(text):  # ASCII digits only: "²".isdigit() is True, int("²") fails
        raise ComposeFormatError(f"port {spec!r}: 'published' must be a number")
    return [PortMapping(service, target, int(text), protocol)]


def _split_colons(text: str) -> list[str]:
    """Split on ':' outside ``${...}`` (a variable may carry a default such as ``${PORT:-80}``)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_PORT_DIGITS = re.compile(r"[0-9]{1,5}")


def _port_range(text: str, spec: str) -> list[int]:
    low, _, high = text.partition("-")
    if not _PORT_DIGITS.fullmatch(low) or (high and not _PORT_DIGITS.fullmatch(high)):
        raise ComposeFormatError(f"port {spec!r}: {text!r} is not a port number or range")
    first, last = int(low), int(high or low)
    if not 1 <= first <= last <= 65535:
        raise ComposeFormatError(f"port {spec!r}: {text} is not a port number or range")
    return list(range(first, last + 1))


def service_ports(name: str, service: dict[str, Any]) -> list[PortMapping]:
    mappings: list[PortMapping] = []
    for spec in service.get("ports") or []:
        mappings.extend(parse_port(spec, name))
    return mappings


def parse_mount(spec: Any, service: str = "") -> Mount:
    """One ``volumes:`` item of a service, short (``src:dst[:ro]``) or long syntax."""
    if isinstance(spec, dict):
        long_kind = spec.get("type", "volume")
        target = spec.get("target")
        if not isinstance(target, str) or long_kind not in ("bind", "volume", "tmpfs"):
            raise ComposeFormatError(f"volume {spec!r}: needs a 'target' and a type bind, volume or tmpfs")
        source = spec.get("source")
        if long_kind == "volume" and not source:
            long_kind = "anonymous"
        return Mount(service, long_kind, source, target, bool(spec.get("read_only", False)))
    if not isinstance(spec, str) or not spec:
        raise ComposeFormatError(f"volume {spec!r} is not a volume")
    parts = spec.split(":")
    if len(parts) == 1:
        return Mount(service, "anonymous", None, parts[0], False)
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) > 2 else []
    kind: Literal["bind", "volume"] = "bind" if source.startswith(("/", ".", "~", "$")) else "volume"
    return Mount(service, kind, source, target, "ro" in options)


def service_mounts(name: str, service: dict[str, Any]) -> list[Mount]:
    return [parse_mount(spec, name) for spec in service.get("volumes") or []]


def service_environment(service: dict[str, Any]) -> dict[str, str | None]:
    """The ``environment:`` of a service as a mapping (list items ``K=V`` / ``K`` are split)."""
    raw = service.get("environment")
    if isinstance(raw, dict):
        return {str(key): None if value is None else str(value) for key, value in raw.items()}
    result: dict[str, str | None] = {}
    if isinstance(raw, list):
        for item in raw:
            key, sep, value = str(item).partition("=")
            result[key] = value if sep else None
    return result


def variable_references(value: Any) -> Iterator[VariableReference]:
    """Every ``${NAME}`` / ``$NAME`` interpolation in the strings of ``value``; ``$$`` is an escape."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and "$" in node:
            for match in _VARIABLE.finditer(node):
                braced, modifier, bare = match.groups()
                if braced:
                    yield VariableReference(braced, has_default=modifier.startswith((":-", "-")))
                elif bare:
                    yield VariableReference(bare, has_default=False)
