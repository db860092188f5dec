"""Shared fixtures for the catalog tests: a factory of valid entries and files, and the ../shared samples."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from proximity.catalog.schema import CatalogEntry

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
SHARED_SAMPLES = HERE.parents[1].parent / "shared" / "catalog-samples"

GOOD_ENTRY: dict[str, Any] = {
    "id": "demoapp",
    "name": "Demo App",
    "version": "1.2.3",
    "summary": "A demo app used by the catalog tests.",
    "description": "It has a database password generated per install and a web UI on port 8080.",
    "categories": ["productivity"],
    "tags": ["demo", "notes"],
    "website": "https://example.org",
    "license": "MIT",
    "icon": {"glyph": "DA", "color": "#123456"},
    "install": [
        {
            "type": "compose",
            "service": "web",
            "compose": {
                "services": {
                    "web": {
                        "image": "example/demo:1.2.3",
                        "ports": ["8080:8080"],
                        "volumes": ["/opt/demoapp/data:/data", "/etc/localtime:/etc/localtime:ro"],
                        "environment": {"DB_PASSWORD": "${DB_PASSWORD}", "DB_HOST": "db"},
                    },
                    "db": {
                        "image": "postgres:17.2",
                        "volumes": ["db:/var/lib/postgresql/data"],
                        "environment": ["POSTGRES_PASSWORD=${DB_PASSWORD}"],
                    },
                },
                "volumes": {"db": {}},
            },
        }
    ],
    "ports": [{"name": "http", "port": 8080, "web_ui": True, "scheme": "http"}],
    "volumes": [
        {"name": "data", "path": "/opt/demoapp/data"},
        {"name": "db", "path": "/var/lib/docker/volumes/demoapp_db"},
    ],
    "env": [
        {"name": "DB_PASSWORD", "label": "Database password", "type": "password", "generate": "password"}
    ],
    "resources": {
        "cores_min": 1,
        "cores": 2,
        "memory_min_mb": 256,
        "memory_mb": 512,
        "disk_min_gb": 2,
        "disk_gb": 4,
    },
    "requirements": {"nesting": True, "keyctl": True},
    "healthcheck": {"port": "http", "path": "/"},
    "update": {"method": "compose-pull"},
    "credentials": {"policy": "first-user-setup"},
}

EntryFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_entry() -> EntryFactory:
    """A valid entry document; keyword arguments replace top-level fields (``id`` also renames paths)."""

    def factory(**changes: Any) -> dict[str, Any]:
        doc = copy.deepcopy(GOOD_ENTRY)
        new_id = changes.get("id")
        if new_id:
            doc = json.loads(json.dumps(doc).replace("demoapp", new_id))
        doc.update(changes)
        return doc

    return factory


@pytest.fixture
def entry_model(make_entry: EntryFactory) -> Callable[..., CatalogEntry]:
    return lambda **changes: CatalogEntry.model_validate(make_entry(**changes))


def write_entry(folder: Path, doc: dict[str, Any], *, name: str | None = None, fmt: str = "json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or doc['id']}.{fmt}"
    text = json.dumps(doc, indent=1) if fmt == "json" else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def shared_samples() -> Path:
    """../shared/catalog-samples, or a clean skip where this checkout has no ../shared."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/catalog-samples is absent")
    return SHARED_SAMPLES


@pytest.fixture
def write_file() -> Callable[..., Path]:
    """``write_file(folder, doc, name=None, fmt="json"|"yaml")`` writes an entry file and returns its path."""
    return write_entry
