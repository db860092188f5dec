"""Import Portainer App Templates (formats v1, v2 and v3) into catalog entries.

- v1 is a bare list; ``type`` is ``"container"`` or ``"stack"`` (a swarm stack); volumes are strings.
- v2/v3 are ``{"version": "2"|"3", "templates": [...]}``; ``type`` is 1 (container), 2 (swarm stack) or
  3 (compose stack); v3 adds an integer ``id`` per template. Lists such as Lissy93's also carry type 4
  (kubernetes).

A container template becomes a single-service Docker Compose entry (Docker inside LXC). A compose stack
lives in a git repository (``repository.url`` + ``stackfile``); it is converted when ``stacks_dir`` holds a
local copy of that repository, and skipped with the reason otherwise (an import never fetches from the
network). Swarm stacks, kubernetes manifests and Windows templates are skipped: they do not run in an LXC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from proximity.catalog import compose as compose_doc
from proximity.catalog.files import DocumentError, parse_document, read_document
from proximity.catalog.importers.common import (
    UNKNOWN_LICENSE,
    UNKNOWN_VERSION,
    Converted,
    Fields,
    IdAllocator,
    ImportResult,
    ImportSourceError,
    Skipped,
    icon_for,
    map_categories,
    slugify,
    strip_html,
    summary_from,
    whole_number,
)
from proximity.catalog.lint import (
    COMPOSE_PROJECT_DIR,
    DOCKER_VOLUMES_DIR,
    SYSTEM_BIND_PREFIXES,
    image_tag,
    is_password_like,
)
from proximity.catalog.schema import ENV_NAME, CatalogEntry

IMPORTER = "portainer"
MAX_TEMPLATES_BYTES = 16 * 1024 * 1024  # the complete community lists are a few MiB
DEFAULT_RESOURCES = {
    "cores_min": 1,
    "cores": 2,
    "memory_min_mb": 512,
    "memory_mb": 1024,
    "disk_min_gb": 4,
    "disk_gb": 8,
}
# Ports that are almost never a web UI, so the web UI guess skips them.
NOT_WEB_PORTS = frozenset(
    {
        20,
        21,
        22,
        23,
        25,
        53,
        67,
        68,
        69,
        110,
        123,
        137,
        138,
        139,
        143,
        161,
        389,
        445,
        465,
        514,
        587,
        636,
        853,
        993,
        995,
        1194,
        1883,
        1900,
        3306,
        3478,
        5353,
        5432,
        6379,
        8883,
        9042,
        11211,
        25565,
        27015,
        27017,
        51820,
    }
)
# Secrets that may be generated per install; other secret-looking inputs (API keys, tokens issued by a
# third party) must be supplied by the user.
GENERATABLE = re.compile(
    r"PASSWORD|PASSWD|PASS$|PWD|SECRET_KEY|SALT|RANDOMKEY|ENCRYPTION_KEY|(JWT|SESSION|APP|COOKIE)_SECRET"
)
_V1_TYPES = {"container": 1, "stack": 2}
_TYPE_SKIPS = {
    2: "a Docker Swarm stack; Proximity runs Docker Compose inside an LXC, not Swarm",
    4: "a Kubernetes manifest; Proximity does not run Kubernetes",
}
_CONTAINER_FIELDS = frozenset(
    {
        "type",
        "title",
        "description",
        "categories",
        "platform",
        "logo",
        "image",
        "ports",
        "volumes",
        "env",
        "note",
        "name",
        "restart_policy",
        "labels",
        "privileged",
        "interactive",
        "command",
        "hostname",
        "network",
        "registry",
        "maintainer",
        "id",
        "administrator_only",
    }
)
_STACK_FIELDS = frozenset(
    {
        "type",
        "title",
        "description",
        "categories",
        "platform",
        "logo",
        "repository",
        "env",
        "note",
        "name",
        "maintainer",
        "id",
        "administrator_only",
        "restart_policy",
    }
)


def import_portainer(path: Path, *, stacks_dir: Path | None = None) -> ImportResult:
    """Convert a Portainer ``templates.json`` (v1, v2 or v3) into catalog entries, with a report."""
    if not path.is_file():
        raise ImportSourceError(f"{path} is not a file")
    try:
        data = read_document(path, max_bytes=MAX_TEMPLATES_BYTES)
    except DocumentError as exc:
        raise ImportSourceError(f"{path}: {exc}") from exc
    _, templates = _templates(data, path)
    result = ImportResult(IMPORTER, str(path))
    ids = IdAllocator()
    for index, template in enumerate(templates):
        reference = f"{path.name}#{index}"
        if not isinstance(template, dict):
            result.skipped.append(Skipped(reference, "?", "not a template object"))
            continue
        if "id" in template:
            reference += f" (id {template['id']})"
        converted = convert_template(template, reference, ids, stacks_dir=stacks_dir)
        if isinstance(converted, Skipped):
            result.skipped.append(converted)
        else:
            result.entries.append(converted)
    return result


def _templates(data: Any, path: Path) -> tuple[str, list[Any]]:
    if isinstance(data, list):
        return "1", data
    if isinstance(data, dict) and isinstance(data.get("templates"), list):
        return str(data.get("version", "2")), data["templates"]
    raise ImportSourceError(
        f"{path}: neither a v1 template list nor a v2/v3 {{'version', 'templates'}} object"
    )


def _type(template: dict[str, Any]) -> int | None:
    raw = template.get("type")
    if isinstance(raw, str):
        return _V1_TYPES.get(raw.lower()) or whole_number(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def convert_template(
    template: dict[str, Any],
    reference: str,
    ids: IdAllocator,
    *,
    stacks_dir: Path | None = None,
) -> tuple[CatalogEntry, Converted] | Skipped:
    head = Fields(template)
    title = " ".join((head.text("title") or head.text("name")).split())[:80] or "Untitled"
    kind = _type(template)
    if kind in _TYPE_SKIPS:
        return Skipped(reference, title, _TYPE_SKIPS[kind])
    if kind not in (1, 3):
        return Skipped(reference, title, f"unknown template type {template.get('type')!r}")
    platform = (head.text("platform") or "linux").lower()
    if platform != "linux":
        return Skipped(reference, title, f"a {platform} container; an LXC runs Linux containers only")

    info = Converted(id="", name=title, reference=reference)
    fields = Fields(template, info.lossy)
    built = _container(fields, info) if kind == 1 else _stack(fields, info, stacks_dir)
    if isinstance(built, str):
        return Skipped(reference, title, built)

    info.id = ids.allocate(fields.text("name") or title, info.assumed)
    service_name, compose, image = built.service, built.compose, built.image
    if kind == 1:  # the single service takes the app's name
        compose = _rename_service(compose, service_name, info.id)
        service_name = info.id
    compose = _fill_id(compose, info.id)
    volumes = [dict(volume, path=volume["path"].replace("{id}", info.id)) for volume in built.volumes]
    ports, inputs = built.ports, built.inputs

    description = strip_html(fields.text("description"))
    categories, tags = map_categories(str(c) for c in fields.items("categories") if isinstance(c, (str, int)))
    tag = image_tag(image) if image else None
    entry_version = tag if tag and tag != "latest" and "$" not in tag else UNKNOWN_VERSION
    if entry_version == UNKNOWN_VERSION:
        info.assumed.append(
            f"version {UNKNOWN_VERSION!r}: the image {image or '(stack)'} is not pinned to a release"
        )
    entry: dict[str, Any] = {
        "id": info.id,
        "name": title,
        "version": entry_version,
        "summary": summary_from(description, title),
        "description": description,
        "categories": categories,
        "tags": tags,
        "website": _website(fields, image),
        "license": UNKNOWN_LICENSE,
        "icon": icon_for(info.id, title, fields.text("logo")),
        "install": [{"type": "compose", "service": service_name, "compose": compose}],
        "ports": ports,
        "volumes": volumes,
        "env": inputs,
        "resources": DEFAULT_RESOURCES,
        "requirements": {"nesting": True, "keyctl": True},
        "update": {"method": "compose-pull"},
        "credentials": {"policy": "unknown"},
        "origin": {
            "importer": IMPORTER,
            "reference": reference,
            "upstream_id": fields.text("id") or None,
            "maintainer": fields.text("maintainer") or None,
        },
    }
    info.assumed.append(f"license {UNKNOWN_LICENSE!r}: Portainer templates do not state the app's license")
    info.assumed.append("resources 1-2 cores / 512-1024 MB / 4-8 GB: templates state none")
    info.assumed.append("credentials policy 'unknown': templates do not say how the first login works")
    web = next((port for port in ports if port.get("web_ui")), None)
    probe = web or next((port for port in ports if port["protocol"] == "tcp"), None)
    if probe is not None:
        entry["healthcheck"] = {"kind": "tcp", "port": probe["name"]}
        info.assumed.append(f"health check: a TCP connect to port {probe['port']}")
    note = strip_html(fields.text("note"))
    if note:
        entry["notes"] = [{"level": "info", "text": note}]
    if fields.flag("administrator_only"):
        info.lossy.append("administrator_only: Proximity has no per-template visibility")
    known = _CONTAINER_FIELDS if kind == 1 else _STACK_FIELDS
    for unknown in sorted(set(template) - known):
        info.lossy.append(f"{unknown}: unknown template field, not converted")
    try:
        return CatalogEntry.model_validate(entry), info
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        return Skipped(reference, title, f"does not fit the catalog schema: {problems}")


@dataclass
class Built:
    """The install part of an entry made from a template. Paths hold ``{id}`` until the id is known
    (ids are allocated only for templates that convert, so skipped ones do not take a name)."""

    service: str
    compose: dict[str, Any]
    ports: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    image: str | None


def _container(fields: Fields, info: Converted) -> Built | str:
    image = fields.text("image")
    if not image:
        return "a container template without an image"
    if fields.text("registry"):
        image = f"{fields.text('registry').rstrip('/')}/{image}"
    service: dict[str, Any] = {"image": image, "restart": fields.text("restart_policy") or "unless-stopped"}
    ports_spec, ports = _ports(fields.items("ports"), info)
    if ports_spec:
        service["ports"] = ports_spec
    mounts, volumes = _volumes(fields.items("volumes"), info)
    if mounts:
        service["volumes"] = mounts
    inputs, environment = _env(fields.items("env"), info)
    if environment:
        service["environment"] = environment
    labels = _labels(fields.items("labels"), info)
    if labels:
        service["labels"] = labels
    if fields.flag("privileged"):
        service["privileged"] = True
    if fields.flag("interactive"):
        service["stdin_open"] = True
        service["tty"] = True
    if fields.text("command"):
        service["command"] = fields.text("command")
    if fields.text("hostname"):
        service["hostname"] = fields.text("hostname")
    network = fields.text("network")
    if network:
        info.lossy.append(
            f"network {network!r}: catalog apps use the project's own network (host networking is refused)"
        )
    _mark_web_port(ports, info)
    return Built("app", {"services": {"app": service}}, ports, volumes, inputs, image)


def _labels(items: list[Any], info: Converted) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        label = Fields(item, info.lossy, "labels.") if isinstance(item, dict) else None
        if label is None or not label.text("name"):
            info.lossy.append(f"label {item!r:.80}: no name, not converted")
            continue
        labels[label.text("name")] = label.text("value")
    return labels


def _ports(specs: list[Any], info: Converted) -> tuple[list[str], list[dict[str, Any]]]:
    compose_ports: list[str] = []
    ports: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for spec in specs:
        try:
            mappings = compose_doc.parse_port(spec)
        except compose_doc.ComposeFormatError as exc:
            info.lossy.append(f"{exc}; not converted")
            continue
        for mapping in mappings:
            published = mapping.published or mapping.target
            if mapping.published is None:
                info.assumed.append(
                    f"port {spec!r}: published on the same port {published} (no host port given)"
                )
            if (published, mapping.protocol) in seen:
                info.lossy.append(f"port {spec!r}: {published}/{mapping.protocol} is already published")
                continue
            seen.add((published, mapping.protocol))
            compose_ports.append(f"{published}:{mapping.target}/{mapping.protocol}")
            ports.append(
                {
                    "name": f"{mapping.protocol}-{published}",
                    "port": published,
                    "protocol": mapping.protocol,
                    "_target": mapping.target,
                }
            )
    return compose_ports, ports


def _mark_web_port(ports: list[dict[str, Any]], info: Converted) -> None:
    candidates = [p for p in ports if p["protocol"] == "tcp" and p["_target"] not in NOT_WEB_PORTS]
    if candidates:
        web = candidates[0]
        web.update(
            name="http", web_ui=True, scheme="https" if web["_target"] in (443, 8443, 9443) else "http"
        )
        info.assumed.append(
            f"web UI guessed on port {web['port']} (the template does not say which port it is)"
        )
    for port in ports:
        port.pop("_target", None)


def _volumes(specs: list[Any], info: Converted) -> tuple[list[str], list[dict[str, Any]]]:
    mounts: list[str] = []
    volumes: list[dict[str, Any]] = []
    names: set[str] = set()
    for spec in specs:
        if isinstance(spec, str):  # v1: "/container/path" or "/host:/container[:ro]"
            parts = spec.split(":")
            bind, container = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        elif isinstance(spec, dict):
            volume = Fields(spec, info.lossy, "volume.")
            container = volume.text("container")
            bind = volume.text("bind")
            read_only = volume.flag("readonly")
        else:
            info.lossy.append(f"volume {spec!r}: not a volume, not converted")
            continue
        # Lists write the mode into the paths too: "/etc/timezone:ro", "/volume1/docker/app/log:ro".
        container, container_ro = _split_mode(container.strip())
        bind, bind_ro = _split_mode(bind.strip()) if bind else (None, False)
        read_only = read_only or container_ro or bind_ro
        if not container.startswith("/"):
            info.lossy.append(f"volume {spec!r}: the container path is not absolute, not converted")
            continue
        suffix = ":ro" if read_only else ""
        if bind and _is_system_path(bind):
            mounts.append(f"{bind}:{container}{suffix}")
            continue
        name = _unique(slugify(container.strip("/").replace("/", "-")) or "data", names)
        host = f"/opt/{{id}}/{name}"
        mounts.append(f"{host}:{container}{suffix}")
        volumes.append({"name": name, "path": host, "description": f"Mounted at {container} in the app"})
        if bind:
            info.lossy.append(f"volume {container}: host path {bind} replaced by /opt/<id>/{name}")
    return mounts, volumes


def _split_mode(path: str) -> tuple[str, bool]:
    """("/x:ro" -> ("/x", True)); a path without a mode suffix is returned as it is."""
    if path.endswith((":ro", ":rw")):
        return path[:-3], path.endswith(":ro")
    return path, False


def _is_system_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in SYSTEM_BIND_PREFIXES)


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name[:60], 2
    while candidate in taken:
        candidate = f"{name[:57]}-{number}"
        number += 1
    taken.add(candidate)
    return candidate


def input_name(name: str) -> str:
    """An env input name (``^[A-Z_][A-Z0-9_]*$``) for an upstream variable name."""
    cleaned = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    return cleaned if re.fullmatch(ENV_NAME, cleaned) else f"_{cleaned}"


def _env(items: list[Any], info: Converted) -> tuple[list[dict[str, Any]], dict[str, str]]:
    inputs: list[dict[str, Any]] = []
    environment: dict[str, str] = {}
    taken: set[str] = set()
    for item in items:
        variable = Fields(item, info.lossy, "env.") if isinstance(item, dict) else None
        if variable is None or not variable.text("name"):
            info.lossy.append(f"env {item!r:.80}: no name, not converted")
            continue
        name = variable.text("name")
        default = variable.text("default")
        secret = is_password_like(name)
        if variable.flag("preset") and default not in (None, "") and not secret:
            environment[name] = str(default)  # a fixed value the template does not let the user change
            continue
        made = _input(name, item, secret, info)
        made["name"] = _unique_input(made["name"], taken)
        inputs.append(made)
        environment[name] = "${" + made["name"] + "}"
    return inputs, environment


def _unique_input(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def _input(name: str, item: dict[str, Any], secret: bool, info: Converted) -> dict[str, Any]:
    fields = Fields(item)
    made: dict[str, Any] = {"name": input_name(name), "label": fields.text("label") or name}
    description = strip_html(fields.text("description"))
    default = fields.text("default")
    options = [Fields(option) for option in fields.items("select") if isinstance(option, dict)]
    choices = list(dict.fromkeys(option.text("value") for option in options if option.text("value")))
    if fields.items("select") and not choices:
        info.lossy.append(f"env {name}: 'select' has no usable values; a free text input instead")
    if choices:
        made["type"] = "choice"
        made["choices"] = choices
        chosen = next((option.text("value") for option in options if option.flag("default")), "")
        if chosen:
            made["default"] = chosen
        texts = [
            f"{option.text('text')} = {option.text('value')}" for option in options if option.text("text")
        ]
        if texts:
            description = "; ".join(filter(None, [description, "Choices: " + ", ".join(texts)]))
    elif secret:
        made["type"] = "password"
        made["secret"] = True
        if default not in (None, ""):
            info.lossy.append(
                f"env {name}: the shared default value was dropped; a fresh value is used per install"
            )
        if GENERATABLE.search(name.upper()):
            made["generate"] = "password"
            info.assumed.append(f"env {name}: generated per install when left empty")
        else:
            made["required"] = True
            info.assumed.append(f"env {name}: required (a key or token the user must supply)")
    elif default not in (None, ""):
        made["default"] = str(default)
    if description:
        made["description"] = description
    if made["name"] != name:
        info.assumed.append(f"env {name}: input named {made['name']}")
    return made


def _rename_service(compose: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    services = dict(compose["services"])
    services[new] = services.pop(old)
    return dict(compose, services=services)


def _fill_id(value: Any, entry_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("/opt/{id}/", f"/opt/{entry_id}/")
    if isinstance(value, list):
        return [_fill_id(item, entry_id) for item in value]
    if isinstance(value, dict):
        return {key: _fill_id(item, entry_id) for key, item in value.items()}
    return value


def _website(fields: Fields, image: str | None) -> str:
    url = Fields(fields.mapping("repository")).text("url")
    if re.match(r"^https?://[^\s/]+\S*$", url):
        return url
    if image:
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
        first = name.split("/", 1)[0]
        if "." in first or ":" in first:  # a registry host: ghcr.io/owner/app
            if first == "quay.io":
                return f"https://quay.io/repository/{name.split('/', 1)[1]}"
            return f"https://{name}"
        if "/" not in name or name.startswith("library/"):
            return f"https://hub.docker.com/_/{name.removeprefix('library/')}"
        return f"https://hub.docker.com/r/{name}"
    return "https://github.com/portainer/templates"


# -- compose stacks -------------------------------------------------------------------------------------


def _stack(fields: Fields, info: Converted, stacks_dir: Path | None) -> Built | str:
    repository = Fields(fields.mapping("repository"), info.lossy, "repository.")
    url, stackfile = repository.text("url"), repository.text("stackfile")
    if not url or not stackfile:
        return "a compose stack without a repository url and stackfile"
    if stacks_dir is None:
        return f"a compose stack in {url} ({stackfile}); pass --stacks-dir with a local clone to convert it"
    path = find_stackfile(stacks_dir, url, stackfile)
    if path is None:
        return f"stack file {stackfile} of {url} not found under {stacks_dir}"
    try:
        document = parse_document(path.read_bytes(), yaml_syntax=True)
    except (OSError, DocumentError) as exc:
        return f"stack file {path}: {exc}"
    services = compose_doc.services(document) if isinstance(document, dict) else {}
    if not services:
        return f"stack file {path} has no services"
    for name, service in services.items():
        if service.get("network_mode") == "host":
            return f"service {name!r} uses host networking, which catalog apps must not"
        if not service.get("image"):
            return f"service {name!r} has no image (it needs a local build)"
    inputs, environment = _env(fields.items("env"), info)
    declared = {item["name"] for item in inputs}
    document = dict(document, services={name: dict(service) for name, service in services.items()})
    ports: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    volume_names: set[str] = set()
    for name, service in document["services"].items():
        _stack_service_ports(name, service, ports, info)
        _stack_service_volumes(name, service, volumes, volume_names, info)
        if service.get("env_file") in ("stack.env", ["stack.env"]):
            service["env_file"] = [".env"]
            info.assumed.append(f"service {name!r}: Portainer's stack.env is Proximity's .env")
    for reference in compose_doc.variable_references(document):
        if reference.name in declared or reference.has_default:
            continue
        declared.add(reference.name)
        made = _input(reference.name, {"name": reference.name}, is_password_like(reference.name), info)
        made["name"] = reference.name if re.fullmatch(ENV_NAME, reference.name) else made["name"]
        inputs.append(made)
        info.assumed.append(f"env {reference.name}: an input for a variable the stack file uses")
    for key, value in environment.items():
        if key not in declared and not value.startswith("${"):
            info.lossy.append(f"env {key}={value!r}: a preset value the stack file does not use")
    _mark_web_port(ports, info)
    web = next((p for p in ports if p.get("web_ui")), None)
    main = next(iter(document["services"]))
    if web is not None:
        main = web.get("_service", main)
    for port in ports:
        port.pop("_service", None)
    main_image = str(document["services"][main].get("image"))
    return Built(main, document, ports, volumes, inputs, main_image)


def find_stackfile(stacks_dir: Path, url: str, stackfile: str) -> Path | None:
    """The stack file in a local clone: ``stacks_dir/<owner>/<repo>/<stackfile>``,
    ``stacks_dir/<repo>/<stackfile>`` or ``stacks_dir/<stackfile>`` (owner and repo also lower-cased,
    as lists spell them either way)."""
    parts = [p for p in re.sub(r"^https?://[^/]+/", "", url).removesuffix(".git").split("/") if p]
    prefixes: list[Path] = []
    if len(parts) >= 2:
        prefixes += [Path(parts[0], parts[1]), Path(parts[0].lower(), parts[1].lower())]
    if parts:
        prefixes += [Path(parts[-1]), Path(parts[-1].lower())]
    prefixes.append(Path())
    root = stacks_dir.resolve()
    for prefix in prefixes:
        resolved = (stacks_dir / prefix / stackfile).resolve()
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved
    return None


def _stack_service_ports(
    name: str, service: dict[str, Any], ports: list[dict[str, Any]], info: Converted
) -> None:
    """Declare the ports a stack service publishes. A port the file leaves on a random host port is
    published on the same number (the only rewrite); every other item is kept as written."""
    kept: list[Any] = []
    for spec in service.get("ports") or []:
        try:
            mappings = compose_doc.parse_port(spec, name)
        except compose_doc.ComposeFormatError as exc:
            info.lossy.append(f"service {name!r}: {exc}; kept as written, not declared")
            kept.append(spec)
            continue
        if any(mapping.published_is_variable for mapping in mappings):
            info.lossy.append(f"service {name!r} port {spec!r}: published on a variable, not declared")
            kept.append(spec)
            continue
        if any(mapping.published is None for mapping in mappings):
            info.assumed.append(f"service {name!r} port {spec!r}: published on the same port number")
            kept.extend(f"{m.target}:{m.target}/{m.protocol}" for m in mappings)
        elif spec not in kept:
            kept.append(spec)
        for mapping in mappings:
            published = mapping.published or mapping.target
            if not any(p["port"] == published and p["protocol"] == mapping.protocol for p in ports):
                ports.append(
                    {
                        "name": f"{mapping.protocol}-{published}",
                        "port": published,
                        "protocol": mapping.protocol,
                        "_target": mapping.target,
                        "_service": name,
                    }
                )
    if kept:
        service["ports"] = kept


def _stack_service_volumes(
    name: str, service: dict[str, Any], volumes: list[dict[str, Any]], taken: set[str], info: Converted
) -> None:
    for spec in service.get("volumes") or []:
        try:
            mount = compose_doc.parse_mount(spec, name)
        except compose_doc.ComposeFormatError as exc:
            info.lossy.append(f"service {name!r}: {exc}")
            continue
        if mount.kind == "volume" and mount.source:
            path = f"{DOCKER_VOLUMES_DIR}/{{id}}_{mount.source}"
        elif mount.kind == "bind" and mount.source and not _is_system_path(mount.source):
            if mount.source.startswith("$"):
                info.lossy.append(
                    f"service {name!r}: bind {mount.source} is chosen by a variable, not declared"
                )
                continue
            source = mount.source.removeprefix("./")
            path = (
                f"{COMPOSE_PROJECT_DIR}/{{id}}/{source}" if not mount.source.startswith("/") else mount.source
            )
        else:
            continue
        if any(v["path"] == path for v in volumes):
            continue
        volume_name = _unique(slugify(mount.target.strip("/").replace("/", "-")) or "data", taken)
        volumes.append(
            {
                "name": volume_name,
                "path": path,
                "description": f"Mounted at {mount.target} in service {name!r}",
            }
        )
