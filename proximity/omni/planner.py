"""Request -> ``Plan``: the parser's candidates, and the local model choosing among them when the parser
is unsure. The model is optional: without it the parser's best candidate is used and the plan says so.

The model can only *choose* among candidates the parser built from the live state; it never writes a
plan of its own here, so it cannot invent an action, an app or a host, and the risk of every step comes
from its action type (``plan.RISKS``), whatever the model prefers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Protocol

from proximity.errors import ValidationError
from proximity.omni.llm_grammar import OUT_OF_SCOPE, format_plan
from proximity.omni.parser import Candidate, Parser, ParseResult
from proximity.omni.plan import Plan, PlanError, Step
from proximity.omni.sentences import sentence
from proximity.omni.state import LiveState

MAX_REQUEST_CHARS = 1000
UNSURE_BELOW = 0.75  # parser confidence under which the model, when present, chooses
NOTES = {
    "no model": {
        "en": "the parser was unsure and the local model is not installed: its best reading is used",
        "it": "il parser era incerto e il modello locale non è installato: uso la sua lettura migliore",
    },
    "model failed": {
        "en": "the local model failed: the parser's best reading is used",
        "it": "il modello locale ha fallito: uso la lettura migliore del parser",
    },
}


class Ranker(Protocol):
    def available(self) -> bool: ...

    def rank(self, request: str, candidates: Sequence[str]) -> list[float]: ...


def default_ranker() -> Ranker | None:
    """The shared local model, or None when llama-cpp-python or the GGUF is not installed."""
    try:
        from proximity.omni.llm import shared_model
    except ImportError:
        return None
    model = shared_model()
    return model if model.available() else None


def clean_request(text: Any) -> str:
    if not isinstance(text, str):
        raise ValidationError("a request must be text")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValidationError("the request is empty")
    if len(cleaned) > MAX_REQUEST_CHARS:
        raise ValidationError(f"the request is longer than {MAX_REQUEST_CHARS} characters")
    return cleaned


class Planner:
    """``Planner(state).plan("riavvia jellyfin")``. ``ranker``: "auto" (the local model if installed),
    None (parser only), or any object with ``rank(request, candidates) -> scores``."""

    def __init__(
        self, state: LiveState, *, ranker: Ranker | None | str = "auto", unsure_below: float = UNSURE_BELOW
    ):
        self.parser = Parser(state)
        self._ranker_choice = ranker
        self._ranker: Ranker | None = None
        self._ranker_resolved = ranker != "auto"
        if ranker != "auto":
            self._ranker = ranker  # type: ignore[assignment]
        self.unsure_below = unsure_below
        self.last_latency_s = 0.0

    @property
    def ranker(self) -> Ranker | None:
        if not self._ranker_resolved:
            self._ranker = default_ranker()
            self._ranker_resolved = True
        return self._ranker

    def plan(self, text: str) -> Plan:
        started = time.perf_counter()
        request = clean_request(text)
        parsed = self.parser.parse(request)
        valid = [c for c in parsed.candidates if _steps(c, parsed) is not None]
        notes: list[str] = []
        if not valid:
            valid = [Candidate(((OUT_OF_SCOPE, {}),), 1.0, 1.0)]
        chosen, chosen_by, confidence = valid[0], "parser", parsed.confidence
        if len(valid) > 1 and confidence < self.unsure_below:
            ranker = self.ranker
            if ranker is None:
                notes.append(NOTES["no model"][parsed.language])
            else:
                picked = _model_choice(ranker, request, valid)
                if picked is None:
                    notes.append(NOTES["model failed"][parsed.language])
                else:
                    chosen, confidence = picked
                    chosen_by = "model"
        steps = _steps(chosen, parsed) or ()
        notes.extend(chosen.notes)
        alternatives = tuple(format_plan(c.calls) for c in valid if c is not chosen)[:4]
        self.last_latency_s = time.perf_counter() - started
        return Plan(
            request=request,
            language=parsed.language,
            steps=steps,
            confidence=max(0.0, min(1.0, confidence)),
            chosen_by=chosen_by,  # type: ignore[arg-type]
            notes=tuple(dict.fromkeys(notes)),
            alternatives=alternatives,
        )


def _steps(candidate: Candidate, parsed: ParseResult) -> tuple[Step, ...] | None:
    try:
        return tuple(
            Step(action=action, args=args, sentence=sentence(action, args, parsed.language))
            for action, args in candidate.calls
        )
    except PlanError:
        return None


def _model_choice(
    ranker: Ranker, request: str, candidates: list[Candidate]
) -> tuple[Candidate, float] | None:
    """The candidate with the best model probability times parser prior; None if the model misbehaves."""
    try:
        scores = ranker.rank(request, [format_plan(c.calls) for c in candidates])
    except Exception:  # noqa: BLE001 - a broken model must never break planning
        return None
    if len(scores) != len(candidates) or not all(
        isinstance(s, (int, float)) and math.isfinite(s) for s in scores
    ):
        return None
    peak = max(scores)
    weights = [math.exp(s - peak) for s in scores]
    total = sum(weights)
    combined = [(w / total) * c.score for w, c in zip(weights, candidates)]
    norm = sum(combined) or 1.0
    best = max(range(len(candidates)), key=lambda i: combined[i])
    return candidates[best], combined[best] / norm
