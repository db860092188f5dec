"""Catalog benchmark: cold load time of a 600+ entry catalog and search latency. Prints JSON.

    python -m bench.bench_catalog [--min-entries 600] [--rounds 5] [--searches 4000]

The catalog measured is the shipped one (catalog/apps), plus the Helper-Scripts and Portainer samples of
../shared/catalog-samples converted by the importers (when that folder exists), plus generated variants of
the shipped entries (same content, new id and a distinguishing word in the name) until there are at least
``--min-entries``. The JSON says how many entries came from each source.

Cold load: a fresh Python process imports the loader and loads every source; both the load alone and
import + load are reported (median of ``--rounds`` processes). Search: a fixed mix of exact names, typos,
prefixes, multi-word and filtered queries, each call timed on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proximity.catalog.importers import write_entries
from proximity.catalog.importers.helper_scripts import import_helper_scripts
from proximity.catalog.importers.portainer import import_portainer
from proximity.catalog.loader import load_catalog
from proximity.catalog.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = ROOT.parent / "shared" / "catalog-samples"
VARIANT_WORDS = ("edge", "lts", "nightly", "mirror", "lab", "home", "studio", "pro", "lite", "next")
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("jellyfin", {}),
    ("jelyfin", {}),
    ("vaultwardn", {}),
    ("nextclod", {}),
    ("home assistant", {}),
    ("homeasistant", {}),
    ("immich", {}),
    ("paperles", {}),
    ("photo", {}),
    ("password manager", {}),
    ("media server", {}),
    ("dns", {}),
    ("adblock", {}),
    ("git", {}),
    ("monitoring", {}),
    ("grafana", {}),
    ("prometheus", {}),
    ("wiki", {}),
    ("notes", {}),
    ("recipe", {}),
    ("budget", {}),
    ("vpn", {}),
    ("torrent", {}),
    ("music streaming", {}),
    ("backup", {}),
    ("chat", {}),
    ("llm", {}),
    ("dashboard", {}),
    ("postgres", {}),
    ("jel", {}),
    ("nex", {}),
    ("", {"category": "media"}),
    ("", {"requires": {"gpu": False}}),
    ("media", {"requires": {"gpu": False}}),
    ("photos", {"category": "photos"}),
    ("qwxzzy", {}),
    ("self-hosted", {}),
    ("kubernetes", {}),
    ("smart home automation", {}),
    ("document scanner ocr", {}),
]


def build_catalog(folder: Path, min_entries: int) -> dict[str, int]:
    """Fill ``folder`` with imported and generated entries; return how many came from each source."""
    counts = {
        "shipped": len(load_catalog()),
        "helper_scripts_samples": 0,
        "portainer_samples": 0,
        "generated": 0,
    }
    if SHARED_SAMPLES.is_dir():
        helper = import_helper_scripts(SHARED_SAMPLES / "helper-scripts")
        counts["helper_scripts_samples"] = len(write_entries(helper, folder / "helper-scripts"))
        portainer_dir = folder / "portainer"
        for path in sorted((SHARED_SAMPLES / "portainer").glob("*.json")):
            result = import_portainer(path)
            result.entries = [
                (e, i) for e, i in result.entries if not (portainer_dir / f"{e.id}.json").exists()
            ]
            counts["portainer_samples"] += len(write_entries(result, portainer_dir))
    generated = folder / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    shipped = [entry.model_dump(mode="json", exclude_none=True) for entry in load_catalog()]
    imported_dirs = [path for path in sorted(folder.iterdir()) if path.is_dir() and path != generated]
    total = len(load_catalog(imported_dirs))  # unique ids: an import of a shipped app overrides it
    round_number = 0
    while total < min_entries and shipped:
        word = VARIANT_WORDS[round_number % len(VARIANT_WORDS)] + (
            "" if round_number < 10 else str(round_number)
        )
        for doc in shipped:
            if total >= min_entries:
                break
            variant = json.loads(json.dumps(doc).replace(f"/opt/{doc['id']}/", f"/opt/{doc['id']}-{word}/"))
            variant["id"] = f"{doc['id']}-{word}"[:63].rstrip("-")
            variant["name"] = f"{doc['name']} {word.capitalize()}"[:80]
            (generated / f"{variant['id']}.json").write_text(json.dumps(variant), encoding="utf-8")
            counts["generated"] += 1
            total += 1
        round_number += 1
    return counts


def cold_load(folders: list[Path], rounds: int) -> dict[str, float]:
    script = (
        "import json, sys, time\n"
        "t0, c0 = time.perf_counter(), time.process_time()\n"
        "from proximity.catalog.loader import load_catalog\n"
        "t1, c1 = time.perf_counter(), time.process_time()\n"
        "catalog = load_catalog(sys.argv[1:])\n"
        "t2, c2 = time.perf_counter(), time.process_time()\n"
        "print(json.dumps({'entries': len(catalog), 'errors': len(catalog.errors),"
        " 'import_s': t1 - t0, 'load_s': t2 - t1, 'import_cpu_s': c1 - c0, 'load_cpu_s': c2 - c1}))\n"
    )
    runs: list[dict[str, float]] = []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", script, *map(str, folders)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        runs.append(json.loads(out.stdout))

    def median_ms(*keys: str) -> float:
        return round(statistics.median(sum(float(run[key]) for key in keys) * 1000 for run in runs), 1)

    return {
        "entries": runs[0]["entries"],
        "load_errors": runs[0]["errors"],
        "rounds": rounds,
        "load_ms_median": median_ms("load_s"),
        "load_ms_min": round(min(run["load_s"] for run in runs) * 1000, 1),
        "load_ms_max": round(max(run["load_s"] for run in runs) * 1000, 1),
        "load_cpu_ms_median": median_ms("load_cpu_s"),
        "import_and_load_ms_median": median_ms("import_s", "load_s"),
        "import_and_load_cpu_ms_median": median_ms("import_cpu_s", "load_cpu_s"),
    }


def search_latency(index: SearchIndex, searches: int) -> dict[str, float]:
    """Wall-clock and CPU (thread) time of each search call; CPU time is what contention does not inflate."""
    wall_us: list[float] = []
    cpu_us: list[float] = []
    for query, filters in QUERIES:  # warm-up: the first typo imports rapidfuzz
        index.search(query, **filters)
    while len(wall_us) < searches:
        for query, filters in QUERIES:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            index.search(query, **filters)
            cpu_us.append((time.thread_time_ns() - started_cpu) / 1000)
            wall_us.append((time.perf_counter_ns() - started) / 1000)
    wall_us.sort()
    cpu_us.sort()
    return {
        "searches": len(wall_us),
        "p50_us": round(statistics.median(wall_us), 1),
        "p95_us": round(wall_us[int(len(wall_us) * 0.95) - 1], 1),
        "max_us": round(wall_us[-1], 1),
        "cpu_p50_us": round(statistics.median(cpu_us), 1),
        "cpu_p95_us": round(cpu_us[int(len(cpu_us) * 0.95) - 1], 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-entries", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--searches", type=int, default=4000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="proximity-bench-catalog-") as tmp:
        folder = Path(tmp)
        counts = build_catalog(folder, args.min_entries)
        folders = [path for path in sorted(folder.iterdir()) if path.is_dir()]
        load = cold_load(folders, args.rounds)
        catalog = load_catalog(folders)
        started = time.perf_counter()
        index = SearchIndex(iter(catalog))
        index_ms = (time.perf_counter() - started) * 1000
        search = search_latency(index, args.searches)
    result = {
        "benchmark": "catalog",
        "sources": counts,
        "entries_loaded": len(catalog),
        "overrides": len(catalog.overrides),
        "vocabulary": {"tokens": index.vocabulary_size, "fuzzy_tokens": index.fuzzy_vocabulary_size},
        "cold_load": load,
        "index_build_ms": round(index_ms, 1),
        "search": search,
        "goals": {
            "search_p50_under_1ms": search["p50_us"] < 1000,
            "cold_load_under_300ms": load["load_ms_median"] < 300,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine inflates wall times
        },
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
