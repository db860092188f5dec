"""Docker Compose documents as Docker Compose reads them: ``.env`` files, ``${NAME}`` interpolation, services.

Only reading is here (no state): ``load_project`` turns the compose file text plus its environment into a
``ComposeSpec`` that ``inside.py`` runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.DOTALL)
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ComposeError(Exception):
    """The compose document cannot be used; the message reads as Docker Compose's."""


@dataclass(frozen=True)
class PortBinding:
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    container_name: str
    ports: tuple[PortBinding, ...]
    volumes: tuple[str, ...]
    environment: dict[str, str]
    restart: str
    depends_on: tuple[str, ...]
    unpublished_ports: int = 0  # "8080" with no host port: Docker picks an ephemeral one


@dataclass(frozen=True)
class ComposeSpec:
    project: str
    services: dict[str, ServiceSpec]
    named_volumes: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def start_order(self, selected: list[str] | None = None) -> list[str]:
        """The ``selected`` services (default: all) and those they depend on, each after its dependencies."""
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in ordered:
                return
            if name in visiting:
                raise ComposeError(f"dependency cycle detected: {name}")
            visiting.add(name)
            for dependency in self.services[name].depends_on:
                if dependency in self.services:
                    visit(dependency)
            visiting.discard(name)
            ordered.append(name)

        for name in selected or list(self.services):
            visit(name)
        return ordered


# One pass over the backslash escapes of a double-quoted value (replacing one escape after another would
# read the "\\" + "n" of an escaped backslash as a line break).
_DOUBLE_QUOTED_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED = {"n": "\n", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(match: re.Match[str]) -> str:
    return _ESCAPED.get(match.group(1), match.group(0))


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional ``export``, quotes."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 is not a line break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise ComposeError(f"failed to read .env: line {number}: unexpected character in variable name")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = _DOUBLE_QUOTED_ESCAPE.sub(_unescape, value[1:-1])
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        values[key] = value
    return values


def interpolate(text: str, env: dict[str, str], where: str, warnings: list[str]) -> str:
    """Replace ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?error}``,
    ``${NAME?error}``, ``${NAME:+alt}``, ``${NAME+alt}`` (defaults may nest) and ``$$`` as Compose does."""
    pieces: list[str] = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            pieces.append(text[i:])
            break
        pieces.append(text[i:dollar])
        rest = text[dollar + 1 :]
        if rest.startswith("$"):
            pieces.append("$")
            i = dollar + 2
        elif rest.startswith("{"):
            end = _closing_brace(text, dollar + 2)
            if end < 0:
                raise _invalid(text, where)
            pieces.append(_braced(text[dollar + 2 : end], text, env, where, warnings))
            i = end + 1
        else:
            bare = _NAME.match(rest)
            if bare is None:
                raise _invalid(text, where)
            pieces.append(_lookup(bare.group(), env, warnings))
            i = dollar + 1 + bare.end()
    return "".join(pieces)


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` that ends just before ``start`` (nested ``${...}`` allowed)."""
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _braced(inner: str, text: str, env: dict[str, str], where: str, warnings: list[str]) -> str:
    match = _BRACED.match(inner)
    if match is None:
        raise _invalid(text, where)
    name, op, arg = match["name"], match["op"], match["arg"] or ""
    if op is None:
        return _lookup(name, env, warnings)
    value = env.get(name)
    unset_or_empty = value is None or (op.startswith(":") and value == "")
    if op.endswith("-"):
        return interpolate(arg, env, where, warnings) if unset_or_empty else str(value)
    if op.endswith("+"):
        return "" if unset_or_empty else interpolate(arg, env, where, warnings)
    if unset_or_empty:  # "?" and ":?"
        raise ComposeError(
            f"error while interpolating {where}: required variable {name} is missing a value: {arg}"
        )
    return str(value)


def _invalid(text: str, where: str) -> ComposeError:
    return ComposeError(
        f"invalid interpolation format for {where}: {text!r}; you may need to escape any $ with another $"
    )


def _lookup(name: str, env: dict[str, str], warnings: list[str]) -> str:
    if name not in env:
        message = f'The "{name}" variable is not set. Defaulting to a blank string.'
        if message not in warnings:
            warnings.append(message)
        return ""
    return env[name]


def _interpolate_tree(node: Any, env: dict[str, str], path: str, warnings: list[str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env, path, warnings)
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env, f"{path}.{key}", warnings) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(value, env, f"{path}[{i}]", warnings) for i, value in enumerate(node)]
    return node


def _ports(service: str, raw: Any) -> tuple[list[PortBinding], int]:
    bindings: list[PortBinding] = []
    unpublished = 0
    for item in raw or []:
        if isinstance(item, dict):
            if "target" not in item:
                raise ComposeError(f"services.{service}.ports: 'target' is required")
            target = int(item["target"])
            published = item.get("published")
            protocol = str(item.get("protocol", "tcp"))
            if published in (None, ""):
                unpublished += 1
                continue
            bindings.append(PortBinding(int(published), target, protocol, str(item.get("host_ip", ""))))
            continue
        text, _, protocol = str(item).partition("/")
        protocol = protocol or "tcp"
        host_ip = ""
        if text.startswith("["):  # "[::1]:8080:80"
            close = text.index("]")
            host_ip, text = text[1:close], text[close + 2 :]
        parts = text.split(":")
        if len(parts) == 3:
            host_ip, host, container = parts
        elif len(parts) == 2:
            host, container = parts
        elif len(parts) == 1:
            host, container = "", parts[0]
        else:
            raise ComposeError(f"services.{service}.ports: invalid port specification {item!r}")
        try:
            container_range = _port_range(container)
            host_range = _port_range(host) if host else []
        except ValueError:
            raise ComposeError(f"services.{service}.ports: invalid port specification {item!r}") from None
        if not host_range:
            unpublished += len(container_range)
            continue
        if len(host_range) != len(container_range):
            raise ComposeError(f"services.{service}.ports: invalid port range {item!r}")
        bindings.extend(
            PortBinding(h, c, protocol, host_ip) for h, c in zip(host_range, container_range, strict=False)
        )
    return bindings, unpublished


def _port_range(text: str) -> list[int]:
    low, _, high = text.partition("-")
    start, end = int(low), int(high or low)
    if not (1 <= start <= end <= 65535):
        raise ValueError(text)
    return list(range(start, end + 1))


def _environment(service: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): "" if v is None else _scalar(v) for k, v in raw.items()}
    if isinstance(raw, list):
        result = {}
        for item in raw:
            key, _, value = str(item).partition("=")
            result[key] = value
        return result
    raise ComposeError(f"services.{service}.environment must be a mapping or a list")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _volumes(service: str, raw: Any) -> list[str]:
    volumes = []
    for item in raw or []:
        if isinstance(item, dict):
            source, target = item.get("source", ""), item.get("target")
            if not target:
                raise ComposeError(f"services.{service}.volumes: 'target' is required")
            volumes.append(f"{source}:{target}" if source else str(target))
        else:
            volumes.append(str(item))
    return volumes


def load_project(
    text: str,
    *,
    env: dict[str, str],
    project_name: str | None,
    default_project_name: str,
) -> ComposeSpec:
    """Read a compose document. ``env`` is what interpolation sees (the shell's values win over ``.env``)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ComposeError(f"yaml: {error}".replace("\n", " ")) from None
    if not isinstance(document, dict):
        raise ComposeError("Top-level object must be a mapping")
    warnings: list[str] = []
    document = _interpolate_tree(document, env, "", warnings)
    if "version" in document:
        warnings.append(
            "the attribute `version` is obsolete, it will be ignored, please remove it to avoid "
            "potential confusion"
        )
    name = project_name or document.get("name") or default_project_name
    name = str(name).lower()
    if not _PROJECT_NAME.match(name):
        raise ComposeError(
            f"invalid project name {name!r}: must consist only of lowercase alphanumeric characters, "
            "hyphens, and underscores as well as start with a letter or number"
        )
    raw_services = document.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        raise ComposeError("no service selected" if raw_services is None else "services must be a mapping")
    services: dict[str, ServiceSpec] = {}
    for service_name, raw in raw_services.items():
        if not isinstance(raw, dict):
            raise ComposeError(f"services.{service_name} must be a mapping")
        image = raw.get("image")
        if not image:
            if "build" in raw:
                raise ComposeError(
                    f"service {service_name!r}: building images is not simulated; give an 'image'"
                )
            raise ComposeError(
                f"service {service_name!r} has neither an image nor a build context specified: "
                "invalid compose project"
            )
        ports, unpublished = _ports(service_name, raw.get("ports"))
        depends = raw.get("depends_on") or []
        services[service_name] = ServiceSpec(
            name=service_name,
            image=str(image),
            container_name=str(raw.get("container_name") or f"{name}-{service_name}-1"),
            ports=tuple(ports),
            volumes=tuple(_volumes(service_name, raw.get("volumes"))),
            environment=_environment(service_name, raw.get("environment")),
            restart=str(raw.get("restart", "no")),
            depends_on=tuple(depends if isinstance(depends, list) else list(depends)),
            unpublished_ports=unpublished,
        )
    volumes = document.get("volumes") or {}
    return ComposeSpec(
        project=name,
        services=services,
        named_volumes=tuple(volumes) if isinstance(volumes, dict) else (),
        warnings=tuple(warnings),
    )
