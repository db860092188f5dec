"""The benchmark entry points: ``python -m bench`` finds every module, ``bench.bench_sim.main`` reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import __main__ as bench_runner
from bench import bench_sim

ROOT = Path(__file__).resolve().parents[2]


def test_runner_lists_every_bench_module() -> None:
    expected = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    assert "sim" in expected
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0 and listed.stdout.split() == expected


def test_runner_refuses_unknown_names() -> None:
    with pytest.raises(SystemExit) as caught:
        bench_runner.main(["--only", "sim", "--skip", "no-such-bench"])
    assert caught.value.code == 2


def test_runner_reads_the_json_a_bench_prints() -> None:
    assert bench_runner._first_json_object('{"a": 1}\n\n| table |\n') == {"a": 1}
    assert bench_runner._first_json_object("no json here") is None
    assert bench_runner._first_json_object("[1, 2]") is None


def test_bench_sim_main_reports_throughput_and_task_latency() -> None:
    report = bench_sim.main(
        ["--cts", "12", "--running", "3", "--seconds", "0.3", "--clients", "1", "--rounds", "2"]
    )
    assert report["cts"] == 12 and report["running"] == 3
    runs = report["cluster_resources"]
    assert [(run["clients"], run["decode_json"]) for run in runs] == [(1, True), (1, False)]
    for run in runs:
        # 12 containers + 3 nodes + 6 storages + 3 SDN zones
        assert run["resources_per_answer"] == 24
        assert run["requests"] > 0 and run["requests_per_s"] > 0 and run["server_cpu_ms_per_request"] > 0
    assert [t["time_scale"] for t in report["task_latency"]] == [0.0, 0.01]
    assert all(t["start_submit_to_stopped_ms_p50"] > 0 for t in report["task_latency"])
