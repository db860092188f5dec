"""The typed plan the Omni-Prompt proposes: steps of the action vocabulary, each with a risk and a sentence.

The risk of a step is a property of its action (``RISKS``), never of the text that produced it, so no
request, catalog description or model output can make a destructive step look harmless. Arguments are
checked against the vocabulary's signatures (``proximity.omni.llm_grammar.SIGNATURES``): unknown actions,
unknown arguments, wrong types and missing required arguments are refused with ``PlanError``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from proximity.errors import ValidationError
from proximity.omni.llm_grammar import OUT_OF_SCOPE, SIGNATURES, ArgKind, Signature

ArgValue = str | int | bool
Language = Literal["en", "it"]

# Pseudo-actions: answers that are not SDK calls and never execute anything.
REFUSED = "refused"
PSEUDO_ACTIONS = frozenset({OUT_OF_SCOPE, REFUSED})


class Risk(StrEnum):
    READ = "read"
    CHANGE = "change"
    DESTRUCTIVE = "destructive"


RISKS: dict[str, Risk] = {
    "apps.deploy": Risk.CHANGE,
    "apps.list": Risk.READ,
    "apps.start": Risk.CHANGE,
    "apps.stop": Risk.CHANGE,
    "apps.restart": Risk.CHANGE,
    "apps.delete": Risk.DESTRUCTIVE,
    "apps.clone": Risk.CHANGE,
    "apps.update": Risk.CHANGE,
    "apps.logs": Risk.READ,
    "apps.migrate": Risk.CHANGE,
    "apps.resize": Risk.CHANGE,
    "backups.create": Risk.CHANGE,
    "backups.list": Risk.READ,
    "backups.restore": Risk.DESTRUCTIVE,  # in place it replaces the container; as a new app it is a change
    "catalog.search": Risk.READ,
    "hosts.list": Risk.READ,
    "hosts.status": Risk.READ,
    "help": Risk.READ,
    OUT_OF_SCOPE: Risk.READ,
    REFUSED: Risk.READ,
}

_KIND_TYPES: dict[ArgKind, type] = {ArgKind.INT: int, ArgKind.BOOL: bool}
_INT_LIMITS: dict[str, tuple[int, int]] = {
    "cores": (1, 128),
    "memory_mb": (64, 4 * 1024 * 1024),
    "disk_gb": (1, 64 * 1024),
    "lines": (1, 100_000),
}


class PlanError(ValidationError):
    """A step does not fit the action vocabulary."""


def risk_of(action: str, args: dict[str, ArgValue]) -> Risk:
    """The risk of a call, from its action (and, for a restore, whether it replaces an existing app)."""
    if action not in RISKS:
        raise PlanError(f"unknown action {action!r}")
    if action == "backups.restore" and args.get("as_name"):
        return Risk.CHANGE  # a restore into a new app replaces nothing
    return RISKS[action]


def _signatures(action: str) -> list[Signature]:
    return [s for s in SIGNATURES if s.action == action]


def check_args(action: str, args: dict[str, ArgValue]) -> None:
    """Raise ``PlanError`` unless ``args`` fit one signature of ``action``."""
    if action == REFUSED:
        if set(args) - {"reason"}:
            raise PlanError("a refusal takes only a reason")
        return
    signatures = _signatures(action)
    if not signatures:
        raise PlanError(f"unknown action {action!r}")
    problems: list[str] = []
    for signature in signatures:
        problem = _mismatch(signature, args)
        if problem is None:
            return
        problems.append(problem)
    raise PlanError(f"{action}: {problems[0]}")


def _mismatch(signature: Signature, args: dict[str, ArgValue]) -> str | None:
    specs = {spec.name: spec for spec in signature.args}
    for name, value in args.items():
        spec = specs.get(name)
        if spec is None:
            return f"unknown argument {name!r}"
        expected = _KIND_TYPES.get(spec.kind, str)
        if type(value) is not expected:
            return f"{name} must be {expected.__name__}, got {type(value).__name__}"
        if expected is int and name in _INT_LIMITS:
            low, high = _INT_LIMITS[name]
            if not low <= int(value) <= high:
                return f"{name} must be between {low} and {high}"
        if expected is str and not str(value).strip():
            return f"{name} must not be empty"
    missing = [spec.name for spec in signature.args if spec.required and spec.name not in args]
    if missing:
        return f"missing {', '.join(missing)}"
    return None


class Step(BaseModel):
    """One call of the vocabulary. ``risk`` is derived from the action; a given one must agree."""

    model_config = ConfigDict(frozen=True)

    action: str
    args: dict[str, ArgValue] = Field(default_factory=dict)
    risk: Risk = Risk.READ
    sentence: str = ""

    @model_validator(mode="before")
    @classmethod
    def _derive_risk(cls, data: Any) -> Any:
        if isinstance(data, dict):
            action = data.get("action", "")
            args = dict(data.get("args") or {})
            check_args(action, args)
            derived = risk_of(action, args)
            given = data.get("risk")
            if given is not None and Risk(given) != derived:
                raise PlanError(f"{action} is {derived.value}, not {Risk(given).value}")
            data = {**data, "args": args, "risk": derived}
        return data

    @property
    def executes(self) -> bool:
        return self.action not in PSEUDO_ACTIONS

    def call_text(self) -> str:
        from proximity.omni.llm_grammar import format_call

        return format_call(self.action, self.args)

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "args": dict(self.args), "risk": self.risk.value}


class Plan(BaseModel):
    """What a request asks for: steps in order, how sure the parser (or model) is, and how it chose."""

    model_config = ConfigDict(frozen=True)

    request: str
    language: Language = "en"
    steps: tuple[Step, ...]
    confidence: float = Field(ge=0.0, le=1.0)
    chosen_by: Literal["parser", "model"] = "parser"
    notes: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()  # other candidate plans, in call syntax

    @property
    def out_of_scope(self) -> bool:
        return any(step.action == OUT_OF_SCOPE for step in self.steps)

    @property
    def refused(self) -> bool:
        return any(step.action == REFUSED for step in self.steps)

    @property
    def risk(self) -> Risk:
        order = [Risk.READ, Risk.CHANGE, Risk.DESTRUCTIVE]
        return max((step.risk for step in self.steps), key=order.index, default=Risk.READ)

    def call_text(self) -> str:
        from proximity.omni.llm_grammar import STEP_SEPARATOR

        return STEP_SEPARATOR.join(step.call_text() for step in self.steps)

    def as_json(self) -> list[dict[str, Any]]:
        return [step.as_json() for step in self.steps]

    def describe(self) -> str:
        """The plan as numbered sentences, for a terminal or a chat card."""
        lines = [f"{index}. [{step.risk.value}] {step.sentence}" for index, step in enumerate(self.steps, 1)]
        return "\n".join(lines + [f"   ({note})" for note in self.notes])
