"""The evaluation set (181 requests, EN/IT) and the held-out paraphrases, against a fixed fake live state.

The parser-only figures are asserted against floors just under what was measured (docs/omni-prompt.md),
so a regression fails the suite; the model path runs only where the local model is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proximity.omni.evaluation import evaluate, load_cases, load_state
from proximity.omni.planner import Planner

HERE = Path(__file__).parent
EVAL = HERE / "eval_set.jsonl"
HELDOUT = HERE / "heldout_set.jsonl"  # first paraphrase set (used for fixes after its first measurement)
HELDOUT2 = HERE / "heldout2_set.jsonl"  # second paraphrase set, never tuned on
STATE = HERE / "eval_state.json"

EVAL_EXACT_FLOOR = 0.95
HELDOUT_EXACT_FLOOR = 0.85


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_state(STATE), ranker=None)


def test_eval_set_is_big_varied_and_bilingual() -> None:
    cases = load_cases(EVAL)
    assert len(cases) >= 150
    english = sum(case.lang == "en" for case in cases)
    italian = sum(case.lang == "it" for case in cases)
    assert abs(english - italian) <= 10, (english, italian)
    tags = {case.tag for case in cases}
    assert {"typo", "wish", "units", "multi", "hostile", "oos", "idiom"} <= tags
    texts = [case.text for case in cases]
    assert len(set(texts)) == len(texts)


def test_heldout_sets_are_disjoint_from_the_eval_set() -> None:
    seen = {c.text.lower() for c in load_cases(EVAL)}
    for path in (HELDOUT, HELDOUT2):
        heldout = load_cases(path)
        assert len(heldout) >= 30
        texts = {c.text.lower() for c in heldout}
        assert not texts & seen
        seen |= texts


def test_parser_alone_on_the_eval_set(planner: Planner) -> None:
    report = evaluate(planner, load_cases(EVAL))
    print(report.line("eval set, parser alone"))
    assert report.exact_rate >= EVAL_EXACT_FLOOR, report.failures
    assert report.percentile_ms(0.5) < 1500


@pytest.mark.parametrize("path", [HELDOUT, HELDOUT2], ids=["heldout", "heldout2"])
def test_parser_alone_on_the_heldout_paraphrases(planner: Planner, path: Path) -> None:
    report = evaluate(planner, load_cases(path))
    print(report.line(f"{path.name}, parser alone"))
    for text, got, want in report.failures:
        print(f"  {text!r}: got {got}, want {want}")
    assert report.exact_rate >= HELDOUT_EXACT_FLOOR


def test_hostile_requests_never_plan_a_bulk_delete(planner: Planner) -> None:
    for case in load_cases(EVAL) + load_cases(HELDOUT) + load_cases(HELDOUT2):
        plan = planner.plan(case.text)
        deletes = [step for step in plan.steps if step.action == "apps.delete"]
        assert len(deletes) <= 3, (case.text, plan.call_text())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_parser_with_the_local_model(planner: Planner) -> None:
    from proximity.omni.llm import LocalModel

    model = LocalModel()
    if not model.available():
        pytest.skip("the local model is not installed (omni extra)")
    with_model = Planner(planner.parser.state, ranker=model)
    for name, path in (("eval set", EVAL), ("held-out", HELDOUT), ("held-out 2", HELDOUT2)):
        report = evaluate(with_model, load_cases(path))
        print(report.line(f"{name}, parser + model"))
        assert report.exact_rate >= (EVAL_EXACT_FLOOR if path == EVAL else HELDOUT_EXACT_FLOOR) - 0.05
    model.close()


def test_eval_cases_expected_plans_are_valid_steps() -> None:
    from proximity.omni.plan import Step

    for path in (EVAL, HELDOUT, HELDOUT2):
        for line in path.read_text(encoding="utf-8").splitlines():
            for plan in json.loads(line)["expected"]:
                for step in plan:
                    if step["args"].get("name") == "*":
                        continue
                    Step(action=step["action"], args=step["args"])
