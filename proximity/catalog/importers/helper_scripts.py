"""Import Proxmox VE Helper-Scripts (community-scripts/ProxmoxVE) per-app JSON into catalog entries.

Input: a folder of per-app documents (``<slug>.json``) with the ``metadata.json`` that names the numeric
categories, or a single app document (``metadata.json`` is then looked for beside it).

Only ``type: "ct"`` documents become entries; VMs, Proxmox host tools (``pve``), add-ons run on an existing
container (``addon``) and unknown types are skipped with the reason. Disabled scripts are skipped too.

How an imported entry installs: Helper-Scripts split each app in two. ``ct/<app>.sh`` runs on the Proxmox
host and creates the container; ``install/<app>-install.sh`` then runs *inside* it. Proximity creates the
container itself, so the entry's script does what ``build.func`` does at that point: it exports the
variables ``install.func`` expects and runs ``install/<app>-install.sh`` (downloaded from the
community-scripts repository) inside the new container. Updates run ``ct/<app>.sh`` inside the container,
exactly as the ``update`` command Helper-Scripts installs there does.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from proximity.catalog.files import DocumentError, read_document
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
    summary_from,
    whole_number,
)
from proximity.catalog.schema import CatalogEntry

IMPORTER = "helper-scripts"
RAW_BASE = "https://raw.githubusercontent.com/community-scripts/ProxmoxVE/main"
SCRIPT_PAGE = "https://community-scripts.github.io/ProxmoxVE/scripts?id={slug}"
SUPPORTED_OS = ("debian", "ubuntu", "alpine")
MAX_FILE_BYTES = 16 * 1024 * 1024  # an index of every app (ct-index.json) is a few hundred KiB
SKIP_REASONS = {
    "misc": "a helper script for the Proxmox host (e.g. a template chooser), not an app",
    "vm": "a virtual machine script; Proximity installs LXC containers only",
    "pve": "a Proxmox VE host tool (runs on the host, installs no app)",
    "addon": "an add-on for an existing container or the host, not an app",
    "turnkey": "a TurnKey appliance chooser, not a single app",
}
# metadata.json category names -> catalog categories (names not listed fall back to keyword matching).
CATEGORY_MAP: dict[str, tuple[str, ...]] = {
    "Proxmox & Virtualization": ("other",),
    "Operating Systems": ("other",),
    "Containers & Docker": ("development",),
    "Network & Firewall": ("networking",),
    "Adblock & DNS": ("dns",),
    "Authentication & Security": ("security",),
    "Backup & Recovery": ("backup",),
    "Databases": ("databases",),
    "Monitoring & Analytics": ("monitoring",),
    "Dashboards & Frontends": ("dashboards",),
    "Files & Downloads": ("storage", "downloads"),
    "Documents & Notes": ("documents",),
    "Media & Streaming": ("media",),
    "*Arr Suite": ("media", "downloads"),
    "NVR & Cameras": ("home-automation",),
    "IoT & Smart Home": ("home-automation",),
    "ZigBee, Z-Wave & Matter": ("home-automation",),
    "MQTT & Messaging": ("home-automation", "communication"),
    "Automation & Scheduling": ("automation",),
    "AI / Coding & Dev-Tools": ("development",),
    "Webservers & Proxies": ("networking",),
    "Bots & ChatOps": ("communication",),
    "Finance & Budgeting": ("finance",),
    "Gaming & Leisure": ("gaming",),
    "Business & ERP": ("productivity",),
    "Miscellaneous": ("other",),
}
_SCRIPT_PATH = re.compile(r"^ct/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\.sh$")
# Fields of the upstream document and what happens to them; anything else is reported as lossy.
_KNOWN_FIELDS = frozenset(
    {
        "name",
        "slug",
        "categories",
        "date_created",
        "type",
        "updateable",
        "privileged",
        "interface_port",
        "documentation",
        "website",
        "logo",
        "config_path",
        "description",
        "install_methods",
        "default_credentials",
        "notes",
        "disable",
        "disable_description",
    }
)


def import_helper_scripts(path: Path, *, metadata: Path | None = None) -> ImportResult:
    """Convert Helper-Scripts app documents into catalog entries, with a report.

    ``path`` is a folder of ``<slug>.json`` documents, one document, or an index file holding many
    (``ct-index.json``: ``{slug: document}``, or a list of documents).
    """
    files, metadata_path = _inputs(path, metadata)
    category_names = _category_names(metadata_path)
    result = ImportResult(IMPORTER, str(path))
    ids = IdAllocator()
    for file in files:
        try:
            data = read_document(file, max_bytes=MAX_FILE_BYTES)
        except DocumentError as exc:
            result.skipped.append(Skipped(file.name, file.stem, f"unreadable: {exc}"))
            continue
        documents = _documents(data, file.name)
        if not documents:
            result.ignored_files.append(f"{file.name}: not a Helper-Scripts app document")
        for reference, document in documents:
            converted = convert_document(document, reference, category_names, ids)
            if isinstance(converted, Skipped):
                result.skipped.append(converted)
            else:
                result.entries.append(converted)
    return result


def _is_app_document(value: Any) -> bool:
    return isinstance(value, dict) and "slug" in value and "install_methods" in value


def _documents(data: Any, file_name: str) -> list[tuple[str, dict[str, Any]]]:
    """(reference, document) for one app document or for each document of an index file."""
    if _is_app_document(data):
        return [(file_name, data)]
    if isinstance(data, dict) and data and all(_is_app_document(value) for value in data.values()):
        return [(f"{file_name}#{key}", value) for key, value in data.items()]
    if isinstance(data, list) and data and all(_is_app_document(value) for value in data):
        return [(f"{file_name}#{index}", value) for index, value in enumerate(data)]
    return []


def _inputs(path: Path, metadata: Path | None) -> tuple[list[Path], Path | None]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.name != "metadata.json")
        found = metadata or (path / "metadata.json")
    elif path.is_file():
        files = [path]
        found = metadata or (path.parent / "metadata.json")
    else:
        raise ImportSourceError(f"{path} does not exist")
    return files, found if found.is_file() else None


def _category_names(metadata_path: Path | None) -> dict[int, str]:
    if metadata_path is None:
        return {}
    try:
        data = read_document(metadata_path, max_bytes=MAX_FILE_BYTES)
    except DocumentError as exc:
        raise ImportSourceError(f"{metadata_path}: not a Helper-Scripts metadata.json ({exc})") from exc
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, list):
        raise ImportSourceError(f"{metadata_path}: no 'categories' list")
    names: dict[int, str] = {}
    for category in categories:
        if not isinstance(category, dict) or not isinstance(category.get("name"), (str, int, float)):
            continue
        raw_id = category.get("id")
        if isinstance(raw_id, str):
            raw_id = whole_number(raw_id)
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            names[raw_id] = str(category["name"])
    return names


def convert_document(
    doc: dict[str, Any], reference: str, category_names: dict[int, str], ids: IdAllocator
) -> tuple[CatalogEntry, Converted] | Skipped:
    head = Fields(doc)
    slug = head.text("slug")
    name = head.text("name") or slug or reference
    kind = head.text("type").lower()
    if kind != "ct":
        return Skipped(reference, name, SKIP_REASONS.get(kind, f"unknown script type {doc.get('type')!r}"))
    if head.flag("disable"):
        return Skipped(
            reference, name, f"disabled upstream: {head.text('disable_description') or 'no reason given'}"
        )

    info = Converted(id="", name=name, reference=reference)
    fields = Fields(doc, info.lossy)
    info.id = ids.allocate(slug or name, info.assumed)
    notes: list[dict[str, str]] = []

    methods, script_names, resources = _install_methods(fields, info, notes)
    if not methods:
        return Skipped(reference, name, "no install method for a supported OS (debian, ubuntu, alpine)")

    labels = _category_labels(fields.items("categories"), category_names, info)
    categories, tags = _categories(labels)
    description = " ".join(fields.text("description").split())
    entry: dict[str, Any] = {
        "id": info.id,
        "name": name[:80],
        "version": UNKNOWN_VERSION,
        "summary": summary_from(description, name),
        "description": description,
        "categories": categories,
        "tags": tags,
        "website": _website(fields, slug or info.id, info),
        "license": UNKNOWN_LICENSE,
        "icon": icon_for(info.id, name, fields.text("logo")),
        "architectures": ["amd64"],
        "install": methods,
        "resources": resources,
        "requirements": {"privileged": fields.flag("privileged")},
        "update": _update(fields, script_names[0]),
        "credentials": _credentials(fields.mapping("default_credentials"), info),
        "origin": {"importer": IMPORTER, "reference": reference, "upstream_id": slug or None},
    }
    info.assumed.append(f"version {UNKNOWN_VERSION!r}: the installer fetches the current upstream release")
    info.assumed.append(
        f"license {UNKNOWN_LICENSE!r}: Helper-Scripts documents do not state the app's license"
    )
    info.assumed.append("architectures ['amd64']: Helper-Scripts target amd64 hosts")

    port = fields.number("interface_port")
    if port is not None and 1 <= port <= 65535:
        entry["ports"] = [{"name": "http", "port": port, "web_ui": True, "description": "Web interface"}]
        entry["healthcheck"] = {"kind": "tcp", "port": "http"}
        info.assumed.append(f"web UI on port {port} (interface_port); health check is a TCP connect to it")
    elif port is not None:
        info.lossy.append(f"interface_port {port!r} is not a port number")

    if fields.flag("updateable"):
        for other in script_names[1:]:
            command = _update(fields, other)["script"]
            notes.append({"level": "info", "text": f"To update the {other} variant, run in it: {command}"})
            info.lossy.append(f"update of the ct/{other}.sh variant: kept as a note (one update per entry)")
    entry["volumes"] = _config_volumes(fields.text("config_path"), info)
    documentation = fields.text("documentation")
    if documentation:
        notes.append({"level": "info", "text": f"Documentation: {documentation}"})
    notes.extend(_notes(fields.items("notes"), info))
    notes.append(
        {
            "level": "warning",
            "text": (
                "Imported from Proxmox VE Helper-Scripts: installing runs the upstream install script "
                "from the "
                "community-scripts repository as root inside the container. Review it before installing."
            ),
        }
    )
    entry["notes"] = notes
    if fields.text("date_created"):
        info.lossy.append(f"date_created {fields.text('date_created')!r}: the catalog has no such field")
    if fields.text("disable_description"):
        info.lossy.append("disable_description (the script is not disabled, so the text is stale)")
    for unknown in sorted(set(doc) - _KNOWN_FIELDS):
        info.lossy.append(f"{unknown}: unknown Helper-Scripts field, not converted")
    try:
        return CatalogEntry.model_validate(entry), info
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        return Skipped(reference, name, f"does not fit the catalog schema: {problems}")


def _config_volumes(config_path: str, info: Converted) -> list[dict[str, Any]]:
    """Usually one path; sometimes one per OS:
    "Debian: /etc/grafana/grafana.ini | Alpine: /etc/grafana.ini"."""
    found = re.findall(r"(?<![\w:])/[^\s|,;]*", config_path)
    paths = list(dict.fromkeys(path.rstrip("/") or "/" for path in found))
    if not paths:
        if config_path:
            info.lossy.append(f"config_path {config_path!r} holds no absolute path")
        return []
    if len(paths) > 1 or paths[0] != config_path.rstrip("/"):
        info.assumed.append(f"config_path {config_path!r} read as the path(s) {paths}")
    return [
        {
            "name": "config" if i == 0 else f"config-{i + 1}",
            "path": path,
            "description": "Configuration (Helper-Scripts config_path)",
        }
        for i, path in enumerate(paths)
    ]


def _install_methods(
    fields: Fields, info: Converted, notes: list[dict[str, str]]
) -> tuple[list[dict[str, Any]], list[str], dict[str, int]]:
    methods: list[dict[str, Any]] = []
    script_names: list[str] = []
    resources: dict[str, int] | None = None
    for index, method in enumerate(fields.items("install_methods")):
        if not isinstance(method, dict):
            info.lossy.append(f"install_methods[{index}]: not an object")
            continue
        method_fields = Fields(method, info.lossy, f"install_methods[{index}].")
        raw = method_fields.mapping("resources")
        resource_fields = Fields(raw, info.lossy, f"install_methods[{index}].resources.")
        os_name = resource_fields.text("os").lower()  # upstream writes both "debian" and "Debian"
        os_version = resource_fields.text("version")
        script_path = method_fields.text("script")
        match = _SCRIPT_PATH.match(script_path)
        if os_name not in SUPPORTED_OS or match is None:
            info.lossy.append(
                f"install_methods[{index}] ({method.get('type')}, os {raw.get('os')!r}, "
                f"script {script_path!r}):"
                " not a container script for debian, ubuntu or alpine"
            )
            continue
        script_names.append(match.group("name"))
        methods.append(
            {
                "type": "script",
                "os": os_name,
                "os_version": os_version or "13",
                "script": install_script(match.group("name"), os_name, os_version, fields),
            }
        )
        figures = _resources(raw)
        fractional = [f"{key} {raw[key]}" for key in ("cpu", "ram", "hdd") if isinstance(raw.get(key), float)]
        if figures is not None and fractional:
            info.assumed.append(f"install_methods[{index}].resources: {', '.join(fractional)} rounded up")
        if figures is None:
            info.lossy.append(f"install_methods[{index}].resources: incomplete ({raw!r:.120})")
        elif resources is None:
            resources = figures
        elif figures != resources:
            notes.append(
                {
                    "level": "info",
                    "text": (
                        f"The {os_name} {os_version} variant needs {figures['cores']} core(s), "
                        f"{figures['memory_mb']} MB memory and {figures['disk_gb']} GB disk."
                    ),
                }
            )
            info.lossy.append(
                f"install_methods[{index}].resources: kept as a note (one resources block per entry)"
            )
    if resources is None:
        resources = {
            "cores_min": 1,
            "cores": 1,
            "memory_min_mb": 512,
            "memory_mb": 512,
            "disk_min_gb": 4,
            "disk_gb": 4,
        }
        if methods:
            info.assumed.append("resources 1 core / 512 MB / 4 GB: the document gives none")
    else:
        info.assumed.append("minimum resources = recommended ones: Helper-Scripts give a single figure")
    return methods, script_names, resources


def _resources(raw: dict[str, Any]) -> dict[str, int] | None:
    """The single cpu/ram/hdd figure of an install method, or None when one is missing or out of range.
    Fractional sizes exist upstream (``"hdd": 0.2``): they are rounded up to whole units."""
    figures = [_whole(raw.get(key)) for key in ("cpu", "ram", "hdd")]
    if None in figures:
        return None
    cpu, ram, hdd = (figure or 0 for figure in figures)
    if cpu > 128:
        return None
    return {
        "cores_min": cpu,
        "cores": cpu,
        "memory_min_mb": max(ram, 64),
        "memory_mb": max(ram, 64),
        "disk_min_gb": hdd,
        "disk_gb": hdd,
    }


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10**7:
        return None
    return math.ceil(value)


def install_script(script_name: str, os_name: str, os_version: str, fields: Fields) -> str:
    """The shell that runs ``install/<name>-install.sh`` inside the container, as ``build.func`` would."""
    functions = "alpine-install.func" if os_name == "alpine" else "install.func"
    bootstrap = (
        "command -v curl >/dev/null || apk add --no-cache curl"
        if os_name == "alpine"
        else "command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }"
    )
    exports = {
        "APPLICATION": fields.text("name") or script_name,
        "app": script_name,
        "PCT_OSTYPE": os_name,
        "PCT_OSVERSION": os_version,
        "CTTYPE": "0" if fields.flag("privileged") else "1",
        "VERBOSE": "no",
        "SSH_ROOT": "no",
        "DIAGNOSTICS": "no",
        "PASSWORD": "",
    }
    lines = [
        "#!/usr/bin/env bash",
        f"# Imported from Proxmox VE Helper-Scripts: ct/{script_name}.sh",
        "set -euo pipefail",
        bootstrap,
        f"REPO={shlex.quote(RAW_BASE)}",
        *(f"export {key}={shlex.quote(value)}" for key, value in exports.items()),
        'export tz="$(cat /etc/timezone 2>/dev/null || echo Etc/UTC)"',
        f'export FUNCTIONS_FILE_PATH="$(curl -fsSL "$REPO/misc/{functions}")"',
        f'bash -c "$(curl -fsSL "$REPO/install/{script_name}-install.sh")"',
    ]
    return "\n".join(lines) + "\n"


def _update(fields: Fields, script_name: str) -> dict[str, Any]:
    if not fields.flag("updateable"):
        return {"method": "none"}
    ct_script = shlex.quote(f"{RAW_BASE}/ct/{script_name}.sh")
    return {"method": "script", "script": f'bash -c "$(curl -fsSL {ct_script})"'}


def _categories(labels: list[str]) -> tuple[list[str], list[str]]:
    keyword_categories, tags = map_categories(labels)
    categories: list[str] = []
    for label in labels:
        for category in CATEGORY_MAP.get(label, ()):
            if category not in categories:
                categories.append(category)
    if any(label not in CATEGORY_MAP for label in labels) or not labels:
        categories.extend(c for c in keyword_categories if c not in categories)
    if len(categories) > 1 and "other" in categories:
        categories.remove("other")
    return categories, tags


def _category_labels(raw: list[Any], names: dict[int, str], info: Converted) -> list[str]:
    labels: list[str] = []
    for value in raw:
        if isinstance(value, int) and value in names:
            labels.append(names[value])
        else:
            info.lossy.append(f"category {value!r}: not in metadata.json, mapped to 'other'")
    return labels


def _website(fields: Fields, slug: str, info: Converted) -> str:
    for key in ("website", "documentation"):
        value = fields.text(key)
        if re.match(r"^https?://\S+$", value):
            if key != "website":
                info.assumed.append("website: the document has none; its documentation URL is used")
            return value
    info.assumed.append("website: the document has none; the Helper-Scripts page is used")
    return SCRIPT_PAGE.format(slug=slug)


def _credentials(raw: dict[str, Any], info: Converted) -> dict[str, Any]:
    fields = Fields(raw, info.lossy, "default_credentials.")
    username, password = fields.text("username"), fields.text("password")
    if not password:
        info.assumed.append("credentials policy 'unknown': the document states no default password")
        result: dict[str, Any] = {"policy": "unknown"}
        if username:
            result["username"] = str(username)
        return result
    user_part = f"user {username!r}, " if username else ""
    note = f"Upstream default login: {user_part}password {password!r}. Change it after the first login."
    result = {"policy": "upstream-default", "note": note}
    if username:
        result["username"] = str(username)
    return result


def _notes(raw: list[Any], info: Converted) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = []
    for index, note in enumerate(raw):
        fields = Fields(note, info.lossy, f"notes[{index}].") if isinstance(note, dict) else None
        if fields is None or not fields.text("text"):
            info.lossy.append(f"notes[{index}]: empty or not an object")
            continue
        kind = (fields.text("type") or "info").lower()  # upstream mixes "warn"/"warning"/"Info"
        level = "warning" if kind in ("warn", "warning", "danger", "caution") else "info"
        if kind not in ("info", "warn", "warning", "danger", "caution"):
            info.lossy.append(f"notes[{index}].type {note.get('type')!r}: shown as info")
        notes.append({"level": level, "text": fields.text("text")})
    return notes
