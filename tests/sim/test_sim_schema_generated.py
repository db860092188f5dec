"""``tools/gen_pve_schema.py`` keeps the official facts verbatim, deterministically, and fails loudly."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from proximity.sim.schema import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[2]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_pve_schema", ROOT / "tools" / "gen_pve_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def apidata(shared_dir: Path) -> Path:
    path = shared_dir / "pve-api" / "apidata.json"
    if not path.is_file():
        pytest.skip(f"official schema not present at {path}")
    return path


@pytest.fixture(scope="module")
def upstream_bytes(apidata: Path) -> bytes:
    return apidata.read_bytes()


@pytest.mark.shared
def test_committed_schema_is_what_the_generator_writes(upstream_bytes: bytes) -> None:
    document = gen.build(json.loads(upstream_bytes), hashlib.sha256(upstream_bytes).hexdigest())
    assert gen.render(document) == SCHEMA_PATH.read_text(encoding="utf-8"), "run tools/gen_pve_schema.py"
    assert gen.render(gen.build(json.loads(upstream_bytes), "x")) == gen.render(
        gen.build(json.loads(upstream_bytes), "x")
    )


@pytest.mark.shared
def test_parameters_and_returns_are_verbatim_upstream(upstream_bytes: bytes) -> None:
    by_path = gen.index_by_path(json.loads(upstream_bytes))
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert len(committed["endpoints"]) == len(gen.SERVED)
    for key, entry in committed["endpoints"].items():
        upstream = by_path[entry["path"]][entry["method"]]
        assert entry["parameters"] == upstream.get("parameters", entry["parameters"]), key
        assert entry["returns"] == upstream.get("returns", entry["returns"]), key
        for field in ("permissions", "protected", "allowtoken", "proxyto", "name"):
            assert entry.get(field) == upstream.get(field), (key, field)


@pytest.mark.shared
def test_check_mode_reports_up_to_date(apidata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--apidata", str(apidata), "--out", str(SCHEMA_PATH), "--check"]) == 0
    assert "is up to date" in capsys.readouterr().out


def _tree(paths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"path": path, "text": path, "leaf": 1, "info": info} for path, info in paths.items()]


def test_generator_fails_loudly_for_an_endpoint_missing_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "SERVED", (("GET", "/version"), ("POST", "/nodes/{node}/teleport")))
    tree = _tree({"/version": {"GET": {"method": "GET", "name": "version", "returns": {"type": "object"}}}})
    with pytest.raises(gen.SchemaGenerationError, match=r"POST /nodes/\{node\}/teleport"):
        gen.build(tree, "sha")


def test_generator_refuses_indexed_keys_without_a_known_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen, "SERVED", (("PUT", "/thing"),))
    info = {"method": "PUT", "parameters": {"additionalProperties": 0, "properties": {"gizmo[n]": {}}}}
    with pytest.raises(gen.SchemaGenerationError, match="gizmo"):
        gen.build(_tree({"/thing": {"PUT": info}}), "sha")


def test_generator_output_shape(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(gen, "SERVED", (("GET", "/version"),))
    upstream = tmp_path / "apidata.json"
    info = {
        "method": "GET",
        "name": "version",
        "description": "API version details.\n\nMore text.",
        "allowtoken": 1,
        "permissions": {"user": "all"},
        "returns": {"type": "object"},
    }
    upstream.write_text(json.dumps(_tree({"/version": {"GET": info}})))
    out = tmp_path / "schema.json"
    assert gen.main(["--apidata", str(upstream), "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    entry = document["endpoints"]["GET /version"]
    assert entry["description"] == "API version details."
    assert entry["parameters"] == {"additionalProperties": 0, "properties": {}}
    assert document["indexed_key_counts"]["net"] == 32
    assert gen.main(["--apidata", str(tmp_path / "absent.json"), "--out", str(out)]) == 2
