"""What a clause names: existing apps, catalog entries, hosts/nodes, sizes, line counts, new names.

Names are matched against the live state only (exact, then spaced/dashed forms, then prefixes, then typos
with rapidfuzz), so a request can never invent an app or a host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from proximity.omni.lexicon import Lexicon, normalise

EXACT = 1.0
PREFIX = 0.85
FUZZY_CUTOFF = 80.0
NEW_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")

_UNIT = r"(?P<unit>gigabytes?|gigabyte|gib|gb|giga|g|megabytes?|mib|mb|mega|m|terabytes?|tib|tb|tera|t)?"
_NUMBER = re.compile(r"(?<![\w.\-])(?P<value>\d+(?:[.,]\d+)?)\s?" + _UNIT + r"(?![\w\-])")


@dataclass(frozen=True)
class NameHit:
    name: str
    score: float
    start: int  # token index
    end: int


@dataclass
class Sizes:
    cores: int | None = None
    memory_mb: int | None = None
    disk_gb: int | None = None
    lines: int | None = None

    def resize_args(self) -> dict[str, int]:
        values = {"cores": self.cores, "memory_mb": self.memory_mb, "disk_gb": self.disk_gb}
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class Entities:
    apps: list[NameHit] = field(default_factory=list)
    catalog: list[NameHit] = field(default_factory=list)
    places: list[NameHit] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    sizes: Sizes = field(default_factory=Sizes)
    new_name: str | None = None


def words_to_digits(text: str, lexicon: Lexicon) -> str:
    """ "quattro giga" -> "4 giga", "two cores" -> "2 cores": only before a unit or a size noun, so
    "fai una copia" keeps its "una"."""
    nouns = set().union(*(lexicon.nouns[key] for key in ("memory", "disk", "cores", "lines")))
    follow = (
        r"(?:gb|gib|giga|g|mb|mib|mega|tb|gigabytes?|megabytes?|" + "|".join(map(re.escape, nouns)) + r")"
    )
    for word, value in sorted(lexicon.numbers.items(), key=lambda item: -len(item[0])):
        text = re.sub(rf"(?<![\w\-]){re.escape(word)} (?={follow}(?![\w\-]))", f"{value} ", text)
    return text


def extract_sizes(text: str, lexicon: Lexicon) -> Sizes:
    """Sizes and counts: a figure takes the nearest size noun after it (or just before it); a figure with
    a unit and no noun near takes the clause's only memory/disk noun, else it is memory."""
    sizes = Sizes()
    tokens = text.split()
    clause_kinds = {key for key in ("memory", "disk") if set(tokens) & lexicon.nouns[key]}
    for match in _NUMBER.finditer(text):
        raw = float(match.group("value").replace(",", "."))
        unit = (match.group("unit") or "").lower()
        token_index = len(text[: match.start()].split())
        if unit and " " in match.group(0):
            token_index_after = token_index + 2
        else:
            token_index_after = token_index + 1
        kinds = ("memory", "disk") if unit else ("cores", "lines")
        after = tokens[token_index_after : token_index_after + 3]
        before = tokens[max(0, token_index - 2) : token_index]
        noun = _nearest_noun(after, lexicon, kinds) or _nearest_noun(list(reversed(before)), lexicon, kinds)
        if noun is None and unit and len(clause_kinds) == 1:
            noun = next(iter(clause_kinds))
        if unit.startswith("t"):
            gigabytes = raw * 1024
        elif unit.startswith("m"):
            gigabytes = raw / 1024
        else:
            gigabytes = raw
        if noun == "cores":
            sizes.cores = int(raw)
        elif noun == "lines":
            sizes.lines = int(raw)
        elif noun == "disk":
            sizes.disk_gb = max(1, round(gigabytes))
        elif unit:
            sizes.memory_mb = round(gigabytes * 1024)
    return sizes


def _nearest_noun(words: Sequence[str], lexicon: Lexicon, kinds: Sequence[str]) -> str | None:
    for word in words:
        if _NUMBER.fullmatch(word):
            return None  # another figure: the noun belongs to it
        for key in kinds:
            if word in lexicon.nouns[key]:
                return key
    return None


def _variants(name: str) -> set[str]:
    plain = normalise(name)
    return {plain, plain.replace("-", " "), plain.replace("-", "")}


def match_names(tokens: Sequence[str], names: Iterable[str], blocked: frozenset[str]) -> list[NameHit]:
    """Names of ``names`` that the tokens mention, best first, one hit per name."""
    names = list(names)
    table: dict[str, str] = {}
    for name in names:
        for variant in _variants(name):
            table.setdefault(variant, name)
    best: dict[str, NameHit] = {}

    def offer(hit: NameHit) -> None:
        held = best.get(hit.name)
        if held is None or hit.score > held.score:
            best[hit.name] = hit

    for size in (3, 2, 1):
        for start in range(len(tokens) - size + 1):
            gram_tokens = tokens[start : start + size]
            if size == 1 and gram_tokens[0] in blocked:
                continue
            gram = " ".join(gram_tokens)
            for form in {gram, gram.replace(" ", "-"), gram.replace(" ", "")}:
                if form in table:
                    offer(NameHit(table[form], EXACT + 0.01 * size, start, start + size))
            if size > 1:
                continue
            word = gram_tokens[0]
            if len(word) >= 3 and not word.isdigit():
                prefixed = [n for n in names if normalise(n).startswith(word) and normalise(n) != word]
                for name in prefixed:
                    offer(NameHit(name, PREFIX / len(prefixed), start, start + 1))
            if len(word) >= 4 and not word.isdigit():
                for name in names:
                    plain = normalise(name)
                    if abs(len(plain) - len(word)) > 3:
                        continue
                    ratio = fuzz.ratio(word, plain)
                    if ratio >= FUZZY_CUTOFF:
                        offer(NameHit(name, 0.8 * ratio / 100, start, start + 1))
    return sorted(best.values(), key=lambda hit: (-hit.score, hit.start))


CLONE_MARKERS = frozenset(
    {
        "as",
        "called",
        "named",
        "come",
        "chiamato",
        "chiamata",
        "chiamandolo",
        "chiamandola",
        "nome",
        "into",
        "to",
        "in",
        "name",
    }
)
NAME_MARKERS = frozenset(
    {"as", "called", "named", "come", "chiamato", "chiamata", "chiamandolo", "chiamandola", "nome", "into"}
)


def find_new_name(
    tokens: Sequence[str],
    taken: Iterable[str],
    markers: frozenset[str] = CLONE_MARKERS,
    refused: frozenset[str] = frozenset(),
) -> str | None:
    """The word after "as"/"come"/"called"... that is a valid new app name and not already taken."""
    taken_set = {normalise(name) for name in taken}
    for index in range(len(tokens) - 1):
        if tokens[index] in markers:
            candidate = tokens[index + 1]
            if candidate in ("a", "un", "una", "the") and index + 2 < len(tokens):
                candidate = tokens[index + 2]
            if (
                NEW_NAME.match(candidate)
                and candidate not in taken_set
                and not candidate.isdigit()
                and candidate not in refused
            ):
                return candidate
    return None
