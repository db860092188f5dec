"""Run every benchmark in ``bench/`` and print one JSON document: ``{"benchmarks": {name: report}}``.

    python -m bench                       # every bench/bench_*.py, one after another
    python -m bench --only sim catalog    # some of them (names without the ``bench_`` prefix)
    python -m bench --skip omni_llm       # all but some
    python -m bench --list                # the names, one a line

Each benchmark runs as ``python -m bench.bench_<name>`` in its own process (so one's threads, child
processes and memory never skew the next) and must print its JSON report on stdout. A benchmark that fails
or prints no JSON is reported as ``{"error": ..., "returncode": ..., "stderr_tail": ...}`` and makes the exit
status 1; the others still run. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
STDERR_TAIL_CHARS = 2000


def available() -> list[str]:
    """Names of the benchmark modules present (``bench_sim.py`` -> ``sim``), sorted."""
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def run_one(name: str, timeout: float) -> dict[str, Any]:
    """Run ``bench.bench_<name>`` and return its JSON report, or a description of its failure."""
    command = [sys.executable, "-m", f"bench.bench_{name}"]
    began = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=BENCH_DIR.parent, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        stderr = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) else ""
        return {"error": f"timed out after {timeout:g} s", "stderr_tail": stderr[-STDERR_TAIL_CHARS:]}
    elapsed = round(time.perf_counter() - began, 1)
    report = _first_json_object(done.stdout)
    if done.returncode != 0 or report is None:
        reason = f"exited with status {done.returncode}" if done.returncode else "printed no JSON object"
        return {
            "error": reason,
            "returncode": done.returncode,
            "stderr_tail": done.stderr[-STDERR_TAIL_CHARS:],
        }
    return {**report, "bench_wall_s": elapsed}


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a benchmark printed (some print a Markdown table after it)."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these out")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per benchmark")
    parser.add_argument("--list", action="store_true", help="print the benchmark names and exit")
    args = parser.parse_args(argv)

    names = available()
    if args.list:
        print("\n".join(names))
        return 0
    unknown = sorted((set(args.only or []) | set(args.skip)) - set(names))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (available: {', '.join(names)})")
    chosen = [name for name in names if (not args.only or name in args.only) and name not in args.skip]

    reports: dict[str, Any] = {}
    for name in chosen:
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        reports[name] = run_one(name, args.timeout)
        outcome = "failed: " + reports[name]["error"] if "error" in reports[name] else "done"
        print(f"bench: {name} {outcome}", file=sys.stderr, flush=True)
    print(json.dumps({"benchmarks": reports}, indent=2))
    return 1 if any("error" in report for report in reports.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
