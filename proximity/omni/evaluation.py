"""Scoring the Omni-Prompt on a set of requests with expected plans (``tests/omni/eval_set.jsonl``).

Each case: ``{"lang", "text", "tag", "expected": [plan, ...]}``; any expected plan counts (a vague wish
may be answered by several apps). A plan is a list of ``{"action", "args"}``. Comparison rules:

- exact: same actions in the same order with the same arguments, except that a refusal's reason is not
  compared, and a ``catalog.search`` query matches when it shares a word with the expected one (the same
  category is required); ``name="*"`` in an expected step means "this step for every app of the state";
- action-only: the same sequence of actions.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proximity.omni.lexicon import normalise
from proximity.omni.plan import REFUSED, Plan
from proximity.omni.planner import Planner
from proximity.omni.state import LiveState


@dataclass(frozen=True)
class Case:
    lang: str
    text: str
    tag: str
    expected: tuple[tuple[tuple[str, dict[str, Any]], ...], ...]


@dataclass
class Report:
    total: int = 0
    exact: int = 0
    actions: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # text, got, expected
    by_model: int = 0

    @property
    def exact_rate(self) -> float:
        return self.exact / self.total if self.total else 0.0

    @property
    def action_rate(self) -> float:
        return self.actions / self.total if self.total else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def line(self, name: str) -> str:
        return (
            f"{name}: exact {self.exact}/{self.total} ({self.exact_rate:.1%}), action-only "
            f"{self.actions}/{self.total} ({self.action_rate:.1%}), p50 {self.percentile_ms(0.5):.1f} ms, "
            f"p95 {self.percentile_ms(0.95):.1f} ms, chosen by the model {self.by_model}"
        )


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            expected = tuple(
                tuple((str(step["action"]), dict(step.get("args", {}))) for step in plan)
                for plan in row["expected"]
            )
            cases.append(Case(row["lang"], row["text"], row.get("tag", ""), expected))
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: bad case ({error})") from None
    return cases


def load_state(path: Path) -> LiveState:
    data = json.loads(path.read_text(encoding="utf-8"))
    return LiveState.of(
        apps=data["apps"], hosts=data["hosts"], nodes=data["nodes"], backup_ids=data.get("backup_ids", ())
    )


def expand(plan: Iterable[tuple[str, dict[str, Any]]], state: LiveState) -> list[tuple[str, dict[str, Any]]]:
    steps: list[tuple[str, dict[str, Any]]] = []
    for action, args in plan:
        if args.get("name") == "*":
            steps += [(action, {**args, "name": app}) for app in state.apps]
        else:
            steps.append((action, args))
    return steps


def _words(text: Any) -> set[str]:
    return set(normalise(str(text)).split())


def steps_equal(got: tuple[str, dict[str, Any]], want: tuple[str, dict[str, Any]]) -> bool:
    (action, args), (want_action, want_args) = got, want
    if action != want_action:
        return False
    if action == REFUSED:
        return True
    if action == "catalog.search":
        if args.get("category") != want_args.get("category"):
            return False
        if "query" in want_args or "query" in args:
            return bool(_words(args.get("query", "")) & _words(want_args.get("query", "")))
        return True
    return args == want_args


def plan_matches(
    plan: Plan, expected: tuple[tuple[str, dict[str, Any]], ...], state: LiveState
) -> tuple[bool, bool]:
    got = [(step.action, dict(step.args)) for step in plan.steps]
    want = expand(expected, state)
    same_actions = [a for a, _ in got] == [a for a, _ in want]
    exact = same_actions and all(steps_equal(g, w) for g, w in zip(got, want))
    return exact, same_actions


def evaluate(planner: Planner, cases: Iterable[Case]) -> Report:
    report = Report()
    state = planner.parser.state
    for case in cases:
        started = time.perf_counter()
        plan = planner.plan(case.text)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.total += 1
        report.by_model += plan.chosen_by == "model"
        results = [plan_matches(plan, expected, state) for expected in case.expected]
        exact = any(r[0] for r in results)
        report.exact += exact
        report.actions += any(r[1] for r in results)
        if not exact:
            want = " || ".join(json.dumps(e, ensure_ascii=False) for e in case.expected[:2])
            report.failures.append((case.text, plan.call_text(), want))
    return report


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main(argv: list[str] | None = None) -> int:
    """``python -m proximity.omni.evaluation CASES.jsonl... --state STATE.json [--model] [--failures]``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m proximity.omni.evaluation")
    parser.add_argument("cases", nargs="+", type=Path)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--model", action="store_true", help="let the local model choose when unsure")
    parser.add_argument("--failures", action="store_true", help="print every failed case")
    args = parser.parse_args(argv)
    ranker = None
    if args.model:
        from proximity.omni.llm import LocalModel

        ranker = LocalModel()
        if not ranker.available():
            parser.error("the local model is not installed (omni extra)")
        print(f"model loaded in {ranker.load().seconds:.1f} s")
    planner = Planner(load_state(args.state), ranker=ranker)
    for path in args.cases:
        report = evaluate(planner, load_cases(path))
        print(report.line(path.name + (" (parser + model)" if args.model else " (parser alone)")))
        if args.failures:
            for text, got, want in report.failures:
                print(f"  {text!r}\n    got  {got}\n    want {want}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
