#!/usr/bin/env python3
"""Generate ``proximity/sim/data/pve-schema.json`` from the official Proxmox VE API schema.

Reads the API-viewer tree ``../shared/pve-api/apidata.json`` (PVE 9.1; see ``../shared/pve-api/README.md``)
and keeps, for each endpoint the simulator serves (``SERVED`` below), the method's ``parameters`` and
``returns`` verbatim, plus ``permissions``, ``protected``, ``allowtoken``, ``proxyto``, ``name`` and the first
paragraph of its description. The output is deterministic (sorted keys, fixed layout), so re-running the
script on the same input yields the same bytes. It fails loudly when a served endpoint is missing upstream.

Usage: python tools/gen_pve_schema.py [--apidata PATH] [--out PATH] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_APIDATA = ROOT.parent / "shared" / "pve-api" / "apidata.json"
DEFAULT_OUT = ROOT / "proximity" / "sim" / "data" / "pve-schema.json"
PVE_VERSION = "9.1"

# The endpoints the simulator serves (issue 2, "Endpoints (at least)"), as (method, PVE path template).
SERVED: tuple[tuple[str, str], ...] = (
    ("GET", "/version"),
    # cluster
    ("GET", "/cluster"),
    ("GET", "/cluster/status"),
    ("GET", "/cluster/resources"),
    ("GET", "/cluster/nextid"),
    ("GET", "/cluster/tasks"),
    ("GET", "/cluster/backup"),
    ("POST", "/cluster/backup"),
    ("GET", "/cluster/backup/{id}"),
    ("PUT", "/cluster/backup/{id}"),
    ("DELETE", "/cluster/backup/{id}"),
    # nodes
    ("GET", "/nodes"),
    ("GET", "/nodes/{node}"),
    ("GET", "/nodes/{node}/status"),
    ("GET", "/nodes/{node}/version"),
    ("GET", "/nodes/{node}/network"),
    ("GET", "/nodes/{node}/rrddata"),
    # tasks
    ("GET", "/nodes/{node}/tasks"),
    ("GET", "/nodes/{node}/tasks/{upid}"),
    ("DELETE", "/nodes/{node}/tasks/{upid}"),
    ("GET", "/nodes/{node}/tasks/{upid}/status"),
    ("GET", "/nodes/{node}/tasks/{upid}/log"),
    # containers
    ("GET", "/nodes/{node}/lxc"),
    ("POST", "/nodes/{node}/lxc"),
    ("GET", "/nodes/{node}/lxc/{vmid}"),
    ("DELETE", "/nodes/{node}/lxc/{vmid}"),
    ("GET", "/nodes/{node}/lxc/{vmid}/config"),
    ("PUT", "/nodes/{node}/lxc/{vmid}/config"),
    ("GET", "/nodes/{node}/lxc/{vmid}/pending"),
    ("GET", "/nodes/{node}/lxc/{vmid}/status"),
    ("GET", "/nodes/{node}/lxc/{vmid}/status/current"),
    ("POST", "/nodes/{node}/lxc/{vmid}/status/start"),
    ("POST", "/nodes/{node}/lxc/{vmid}/status/stop"),
    ("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown"),
    ("POST", "/nodes/{node}/lxc/{vmid}/status/reboot"),
    ("POST", "/nodes/{node}/lxc/{vmid}/clone"),
    ("POST", "/nodes/{node}/lxc/{vmid}/template"),
    ("PUT", "/nodes/{node}/lxc/{vmid}/resize"),
    ("GET", "/nodes/{node}/lxc/{vmid}/feature"),
    ("GET", "/nodes/{node}/lxc/{vmid}/snapshot"),
    ("POST", "/nodes/{node}/lxc/{vmid}/snapshot"),
    ("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}"),
    ("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}"),
    ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback"),
    ("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config"),
    ("PUT", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config"),
    ("GET", "/nodes/{node}/lxc/{vmid}/migrate"),
    ("POST", "/nodes/{node}/lxc/{vmid}/migrate"),
    ("GET", "/nodes/{node}/lxc/{vmid}/rrddata"),
    ("GET", "/nodes/{node}/lxc/{vmid}/interfaces"),
    # storage
    ("GET", "/storage"),
    ("GET", "/storage/{storage}"),
    ("GET", "/nodes/{node}/storage"),
    ("GET", "/nodes/{node}/storage/{storage}"),
    ("GET", "/nodes/{node}/storage/{storage}/status"),
    ("GET", "/nodes/{node}/storage/{storage}/content"),
    ("POST", "/nodes/{node}/storage/{storage}/content"),
    ("GET", "/nodes/{node}/storage/{storage}/content/{volume}"),
    ("PUT", "/nodes/{node}/storage/{storage}/content/{volume}"),
    ("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}"),
    ("POST", "/nodes/{node}/storage/{storage}/upload"),
    ("POST", "/nodes/{node}/storage/{storage}/download-url"),
    ("POST", "/nodes/{node}/storage/{storage}/oci-registry-pull"),
    ("GET", "/nodes/{node}/query-oci-repo-tags"),
    ("GET", "/nodes/{node}/aplinfo"),
    ("POST", "/nodes/{node}/aplinfo"),
    # backups
    ("POST", "/nodes/{node}/vzdump"),
    ("GET", "/nodes/{node}/vzdump/defaults"),
    # pools
    ("GET", "/pools"),
    ("POST", "/pools"),
    ("PUT", "/pools"),
    ("DELETE", "/pools"),
    ("GET", "/pools/{poolid}"),
    ("PUT", "/pools/{poolid}"),
    ("DELETE", "/pools/{poolid}"),
    # access
    ("GET", "/access"),
    ("GET", "/access/ticket"),
    ("POST", "/access/ticket"),
    ("GET", "/access/permissions"),
    ("GET", "/access/acl"),
    ("PUT", "/access/acl"),
    ("GET", "/access/roles"),
    ("GET", "/access/users"),
    ("GET", "/access/users/{userid}/token"),
    ("GET", "/access/users/{userid}/token/{tokenid}"),
    ("POST", "/access/users/{userid}/token/{tokenid}"),
    ("PUT", "/access/users/{userid}/token/{tokenid}"),
    ("DELETE", "/access/users/{userid}/token/{tokenid}"),
)

# Indexed keys (``net[n]``) stand for ``net0`` .. ``net<count-1>`` in PVE; the API viewer collapses them and
# drops the count, so it is recorded here from the PVE sources (pve-container src/PVE/LXC/Config.pm:
# $MAX_LXC_NETWORKS = 32, $MAX_MOUNT_POINTS = 256, $MAX_UNUSED_DISKS = $MAX_MOUNT_POINTS, $MAX_DEVICES = 256).
INDEXED_KEY_COUNTS: dict[str, int] = {"net": 32, "mp": 256, "unused": 256, "dev": 256}

KEPT_METHOD_FIELDS = ("allowtoken", "name", "permissions", "protected", "proxyto")


class SchemaGenerationError(RuntimeError):
    """The upstream schema does not contain what the simulator serves."""


def _walk(nodes: list[dict[str, Any]]) -> Any:
    for node in nodes:
        yield node
        yield from _walk(node.get("children") or [])


def index_by_path(tree: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Map each API path to its ``info`` (method -> method description)."""
    return {node["path"]: node.get("info") or {} for node in _walk(tree)}


def first_paragraph(text: str) -> str:
    return text.strip().split("\n\n", 1)[0].strip()


def _indexed_bases(parameters: dict[str, Any]) -> set[str]:
    bases = set()
    for key in parameters.get("properties") or {}:
        match = re.fullmatch(r"([a-z]+)\[n\]", key)
        if match:
            bases.add(match.group(1))
    return bases


def build(tree: list[dict[str, Any]], source_sha256: str) -> dict[str, Any]:
    by_path = index_by_path(tree)
    missing = [f"{method} {path}" for method, path in SERVED if method not in by_path.get(path, {})]
    if missing:
        raise SchemaGenerationError(
            "served endpoints missing from the upstream schema: " + ", ".join(missing)
        )

    endpoints: dict[str, Any] = {}
    for method, path in SERVED:
        info = by_path[path][method]
        entry: dict[str, Any] = {"method": method, "path": path}
        for field in KEPT_METHOD_FIELDS:
            if field in info:
                entry[field] = info[field]
        entry["description"] = first_paragraph(info.get("description") or "")
        entry["parameters"] = info.get("parameters") or {"additionalProperties": 0, "properties": {}}
        entry["returns"] = info.get("returns") or {}
        unknown = _indexed_bases(entry["parameters"]) - INDEXED_KEY_COUNTS.keys()
        if unknown:
            raise SchemaGenerationError(f"{method} {path}: no known index range for {sorted(unknown)}")
        endpoints[f"{method} {path}"] = entry

    return {
        "source": {
            "file": "apidata.json",
            "sha256": source_sha256,
            "pve_version": PVE_VERSION,
            "generator": "tools/gen_pve_schema.py",
        },
        "indexed_key_counts": INDEXED_KEY_COUNTS,
        "endpoints": endpoints,
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apidata", type=Path, default=DEFAULT_APIDATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the output file is not up to date")
    args = parser.parse_args(argv)

    if not args.apidata.is_file():
        print(f"error: upstream schema not found: {args.apidata}", file=sys.stderr)
        return 2
    raw = args.apidata.read_bytes()
    try:
        document = build(json.loads(raw), hashlib.sha256(raw).hexdigest())
    except SchemaGenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = render(document)

    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"error: {args.out} is out of date; run tools/gen_pve_schema.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(document['endpoints'])} endpoints)")
        return 0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(document['endpoints'])} endpoints, {len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
