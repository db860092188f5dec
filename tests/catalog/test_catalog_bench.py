"""The catalog benchmark runs and measures what it says (small sizes here; figures come from a full run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_bench_catalog_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_catalog", ROOT / "bench" / "bench_catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_catalog"] = module
    spec.loader.exec_module(module)
    from proximity.catalog.loader import load_catalog

    target = len(load_catalog()) + 40
    result = module.main(["--min-entries", str(target), "--rounds", "1", "--searches", "200"])
    assert result["entries_loaded"] >= target
    assert result["cold_load"]["entries"] == result["entries_loaded"]
    assert result["search"]["searches"] >= 200
    assert 0 < result["search"]["p50_us"] <= result["search"]["p95_us"] <= result["search"]["max_us"]
    assert '"benchmark": "catalog"' in capsys.readouterr().out
