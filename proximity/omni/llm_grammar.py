"""The call syntax the local model reads and writes, and the GBNF grammar that keeps it to real names.

A plan, as the model sees it, is one line of calls separated by `` ; ``::

    backups.create(app="immich") ; apps.update(name="immich")

`format_call` writes a call in that form (the Omni-Prompt core renders its candidate plans with it before
asking the model to rank them), `parse_calls` reads the model's output back, and `build_grammar` builds a
GBNF grammar from the action vocabulary and the live state, so that under it only existing app names,
hosts, backup ids and catalog ids can come out. llama.cpp rejects rule names containing ``_``: every rule
name here is made of lowercase letters, digits and ``-``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

ArgValue = str | int | bool

OUT_OF_SCOPE = "out_of_scope"
STEP_SEPARATOR = " ; "
MAX_STEPS = 4


class ArgKind(Enum):
    """What values an argument may take, and so which grammar rule produces it."""

    APP = "app"  # the name of an existing app
    HOST = "host"  # the name of a known host / node
    CATALOG = "catalog"  # a catalog id
    BACKUP = "backup"  # an existing backup id
    NEW_NAME = "newname"  # a name for something new: lowercase letters, digits, dashes
    INT = "int"
    BOOL = "bool"
    STATUS = "status"  # running / stopped
    CATEGORY = "category"  # a catalog category
    TEXT = "text"  # short free text (a search query)


@dataclass(frozen=True)
class ArgSpec:
    name: str
    kind: ArgKind
    required: bool = False


@dataclass(frozen=True)
class Signature:
    """One way to call an action. An action with alternative required arguments has several."""

    action: str
    args: tuple[ArgSpec, ...] = ()


def _req(name: str, kind: ArgKind) -> ArgSpec:
    return ArgSpec(name, kind, required=True)


def _opt(name: str, kind: ArgKind) -> ArgSpec:
    return ArgSpec(name, kind)


_SIZES = (_opt("cores", ArgKind.INT), _opt("memory_mb", ArgKind.INT), _opt("disk_gb", ArgKind.INT))

# The Omni-Prompt's action vocabulary (issue 6), plus the out-of-scope answer.
SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "apps.deploy",
        (
            _req("catalog_id", ArgKind.CATALOG),
            _opt("name", ArgKind.NEW_NAME),
            _opt("host", ArgKind.HOST),
            _opt("node", ArgKind.HOST),
            *_SIZES,
        ),
    ),
    Signature(
        "apps.list", (_opt("status", ArgKind.STATUS), _opt("host", ArgKind.HOST), _opt("name", ArgKind.APP))
    ),
    Signature("apps.start", (_req("name", ArgKind.APP),)),
    Signature("apps.stop", (_req("name", ArgKind.APP),)),
    Signature("apps.restart", (_req("name", ArgKind.APP),)),
    Signature("apps.delete", (_req("name", ArgKind.APP), _opt("purge", ArgKind.BOOL))),
    Signature("apps.clone", (_req("name", ArgKind.APP), _req("new_name", ArgKind.NEW_NAME))),
    Signature("apps.update", (_req("name", ArgKind.APP),)),
    Signature("apps.logs", (_req("name", ArgKind.APP), _opt("lines", ArgKind.INT))),
    Signature("apps.migrate", (_req("name", ArgKind.APP), _req("node", ArgKind.HOST))),
    Signature("apps.resize", (_req("name", ArgKind.APP), *_SIZES)),
    Signature("backups.create", (_req("app", ArgKind.APP),)),
    Signature("backups.list", (_opt("app", ArgKind.APP),)),
    Signature("backups.restore", (_req("backup_id", ArgKind.BACKUP), _opt("as_name", ArgKind.NEW_NAME))),
    Signature("backups.restore", (_req("app", ArgKind.APP), _opt("as_name", ArgKind.NEW_NAME))),
    Signature("catalog.search", (_opt("query", ArgKind.TEXT), _opt("category", ArgKind.CATEGORY))),
    Signature("hosts.list"),
    Signature("hosts.status", (_req("host", ArgKind.HOST),)),
    Signature("help"),
    Signature(OUT_OF_SCOPE),
)

_NEW_NAME_RULE = '"\\"" [a-z0-9] [a-z0-9-]{0,30} "\\""'
_INT_RULE = "[1-9] [0-9]{0,6}"
_TEXT_RULE = '"\\"" [^"\\\\\\n]{1,60} "\\""'


@dataclass(frozen=True)
class Vocabulary:
    """The live names the model may use. Only these can come out of a grammar built from it."""

    apps: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    catalog_ids: tuple[str, ...] = ()
    backup_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    signatures: tuple[Signature, ...] = field(default=SIGNATURES)

    @classmethod
    def of(
        cls,
        *,
        apps: Iterable[str] = (),
        hosts: Iterable[str] = (),
        catalog_ids: Iterable[str] = (),
        backup_ids: Iterable[str] = (),
        categories: Iterable[str] = (),
        signatures: Sequence[Signature] = SIGNATURES,
    ) -> Vocabulary:
        """Build a vocabulary, dropping blanks and duplicates (order kept)."""
        return cls(
            apps=_clean(apps, "app name"),
            hosts=_clean(hosts, "host"),
            catalog_ids=_clean(catalog_ids, "catalog id"),
            backup_ids=_clean(backup_ids, "backup id"),
            categories=_clean(categories, "category"),
            signatures=tuple(signatures),
        )

    def values(self, kind: ArgKind) -> tuple[str, ...] | None:
        """The closed list of values for ``kind``, or None when the kind is open (a pattern)."""
        closed = {
            ArgKind.APP: self.apps,
            ArgKind.HOST: self.hosts,
            ArgKind.CATALOG: self.catalog_ids,
            ArgKind.BACKUP: self.backup_ids,
            ArgKind.CATEGORY: self.categories,
            ArgKind.STATUS: ("running", "stopped"),
        }
        return closed.get(kind)


def _clean(values: Iterable[str], what: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a string, got {type(value).__name__}")
        text = value.strip()
        if "\n" in text or len(text) > 200:
            raise ValueError(f"invalid {what}: {text[:40]!r}")
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


# ------------------------------------------------------------------ writing and reading calls


def format_value(value: ArgValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def format_call(action: str, args: Mapping[str, ArgValue] | None = None) -> str:
    """``apps.restart(name="jellyfin")``: one call in the model's syntax (argument order kept)."""
    inner = ", ".join(f"{key}={format_value(value)}" for key, value in (args or {}).items())
    return f"{action}({inner})"


def format_plan(calls: Iterable[tuple[str, Mapping[str, ArgValue]]]) -> str:
    return STEP_SEPARATOR.join(format_call(action, args) for action, args in calls)


_CALL = re.compile(r"\s*([a-z_]+(?:\.[a-z_]+)?)\((.*?)\)\s*(?:;|$)", re.DOTALL)
_ARG = re.compile(r'\s*([a-z_]+)=("(?:[^"\\]|\\.)*"|-?\d+|true|false)\s*(?:,|$)')


class CallSyntaxError(ValueError):
    """The text is not a plan in the model's call syntax."""


def parse_calls(text: str) -> list[tuple[str, dict[str, ArgValue]]]:
    """Read ``a.b(k="v", n=3) ; c.d()`` back into ``[("a.b", {"k": "v", "n": 3}), ("c.d", {})]``."""
    calls: list[tuple[str, dict[str, ArgValue]]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _CALL.match(text, position)
        if match is None:
            raise CallSyntaxError(f"not a call at {text[position : position + 40]!r}")
        calls.append((match.group(1), _parse_args(match.group(2))))
        position = match.end()
    if not calls:
        raise CallSyntaxError("no call found")
    return calls


def _parse_args(inner: str) -> dict[str, ArgValue]:
    args: dict[str, ArgValue] = {}
    position = 0
    inner = inner.strip()
    while position < len(inner):
        match = _ARG.match(inner, position)
        if match is None:
            raise CallSyntaxError(f"bad argument at {inner[position : position + 40]!r}")
        key, raw = match.group(1), match.group(2)
        if raw.startswith('"'):
            args[key] = json.loads(raw)
        elif raw in ("true", "false"):
            args[key] = raw == "true"
        else:
            args[key] = int(raw)
        position = match.end()
    return args


# ------------------------------------------------------------------ the grammar


def rule_name(text: str) -> str:
    """A GBNF rule name for ``text``: lowercase letters, digits and dashes only (never ``_``)."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not name:
        raise ValueError(f"cannot make a rule name from {text!r}")
    return name


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def build_grammar(vocabulary: Vocabulary, *, max_steps: int = MAX_STEPS, leading_space: bool = True) -> str:
    """A GBNF grammar for plans whose names all come from ``vocabulary``.

    An action (or one of its signatures) needing a closed kind with no live value is left out: with no
    apps, ``apps.restart`` cannot be produced. ``leading_space`` starts the output with one space, as the
    few-shot prompt ends with ``Plan:`` and the natural next token carries the space.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    rules: dict[str, str] = {}
    step_rules: list[str] = []
    by_action: dict[str, list[str]] = {}
    for signature in vocabulary.signatures:
        body = _signature_body(signature, vocabulary, rules)
        if body is not None:
            by_action.setdefault(signature.action, []).append(body)
    if not by_action:
        raise ValueError("no action can be produced from this vocabulary")
    for action, bodies in by_action.items():
        name = "call-" + rule_name(action)
        rules[name] = " | ".join(f"( {body} )" for body in bodies) if len(bodies) > 1 else bodies[0]
        step_rules.append(name)
    head = '" " ' if leading_space else ""
    more = f"( {gbnf_literal(STEP_SEPARATOR)} step ){{0,{max_steps - 1}}}" if max_steps > 1 else ""
    lines = [f"root ::= {head}step {more}".rstrip(), "step ::= " + " | ".join(step_rules)]
    lines += [f"{name} ::= {body}" for name, body in rules.items()]
    return "\n".join(lines) + "\n"


def _signature_body(signature: Signature, vocabulary: Vocabulary, rules: dict[str, str]) -> str | None:
    parts = [gbnf_literal(signature.action + "(")]
    first = True
    for spec in signature.args:
        value_rule = _value_rule(spec.kind, vocabulary, rules)
        if value_rule is None:
            if spec.required:
                return None
            continue
        # Optional arguments before a required one would make the comma ambiguous; the vocabulary puts
        # required arguments first, so a leading optional argument is the only one without a comma.
        prefix = "" if first else ", "
        piece = f"{gbnf_literal(prefix + spec.name + '=')} {value_rule}"
        if spec.required:
            parts.append(piece)
            first = False
        elif first:
            # An optional first argument: later ones need a comma only if it was written, so write the
            # first optional argument and the rest as a choice between "with it" and "without it".
            return _optional_head_body(signature, vocabulary, rules)
        else:
            parts.append(f"( {piece} )?")
    parts.append(gbnf_literal(")"))
    return " ".join(parts)


def _optional_head_body(signature: Signature, vocabulary: Vocabulary, rules: dict[str, str]) -> str:
    """``f()``, or ``f(a=..)`` / ``f(b=..)`` / ``f(a=.., b=..)``: all-optional arguments, in order."""
    if any(spec.required for spec in signature.args):
        raise ValueError(f"{signature.action}: required arguments must come before optional ones")
    pieces: list[tuple[str, str]] = []
    for spec in signature.args:
        value_rule = _value_rule(spec.kind, vocabulary, rules)
        if value_rule is not None:
            pieces.append((spec.name, value_rule))
    open_call = gbnf_literal(signature.action + "(")
    close = gbnf_literal(")")
    if not pieces:
        return f"{open_call} {close}"
    args_rule = "args-" + rule_name(signature.action)
    alternatives = []
    for index, (name, value_rule) in enumerate(pieces):
        tail = " ".join(
            f"( {gbnf_literal(', ' + later + '=')} {rule} )?" for later, rule in pieces[index + 1 :]
        )
        alternatives.append(f"{gbnf_literal(name + '=')} {value_rule} {tail}".strip())
    rules[args_rule] = " | ".join(f"( {alt} )" for alt in alternatives)
    return f"{open_call} {args_rule}? {close}"


def _value_rule(kind: ArgKind, vocabulary: Vocabulary, rules: dict[str, str]) -> str | None:
    name = "value-" + rule_name(kind.value)
    if name in rules:
        return name
    closed = vocabulary.values(kind)
    if closed is not None:
        if not closed:
            return None
        rules[name] = " | ".join(gbnf_literal(json.dumps(value, ensure_ascii=False)) for value in closed)
    elif kind is ArgKind.NEW_NAME:
        rules[name] = _NEW_NAME_RULE
    elif kind is ArgKind.INT:
        rules[name] = _INT_RULE
    elif kind is ArgKind.BOOL:
        rules[name] = '"true" | "false"'
    elif kind is ArgKind.TEXT:
        rules[name] = _TEXT_RULE
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(f"unknown argument kind {kind}")
    return name
