"""The deterministic lexicon (``prompts/omni-lexicon.yaml``, ``prompts/omni-synonyms.yaml``), compiled.

Text is normalised once (``normalise``); every pattern becomes a whole-word regular expression over it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from proximity.resources import data_dir

LEXICON_FILE = "omni-lexicon.yaml"
SYNONYMS_FILE = "omni-synonyms.yaml"


def normalise(text: str) -> str:
    """Lower case, accents removed, apostrophes and punctuation to spaces (``-`` and ``.`` kept inside
    words, so names like ``uptime-kuma`` and numbers like ``1.5`` survive), single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s.\-]", " ", plain)
    plain = re.sub(r"(?<!\w)[.\-]+|[.\-]+(?!\w)", " ", plain)  # dots/dashes not inside a word
    return " ".join(plain.split())


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``riavvi*`` -> a word starting with riavvi; ``turn ~ off`` -> up to three words in between."""
    parts: list[str] = []
    for raw in pattern.split():
        if raw == "~":
            parts.append(r"(?:[\w.\-]+ ){0,3}?")
            continue
        star = raw.endswith("*")
        words = normalise(raw.rstrip("*")).split()
        for position, word in enumerate(words):
            wildcard = r"[\w]*" if star and position == len(words) - 1 else ""
            parts.append(re.escape(word) + wildcard + " ")
    body = "".join(parts).rstrip(" ")
    return re.compile(r"(?<![\w\-])" + body + r"(?![\w\-])")


@dataclass(frozen=True)
class Wish:
    patterns: tuple[re.Pattern[str], ...]
    query: str
    prefer: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    verbs: dict[str, tuple[re.Pattern[str], ...]]
    cues: dict[str, tuple[re.Pattern[str], ...]]
    nouns: dict[str, frozenset[str]]
    status_words: dict[str, tuple[re.Pattern[str], ...]]
    sequence: tuple[re.Pattern[str], ...]
    ignore: frozenset[str]
    pronouns: frozenset[str]
    enclitic_suffixes: tuple[str, ...]
    numbers: dict[str, int]
    italian_markers: frozenset[str]
    english_markers: frozenset[str]
    wishes: tuple[Wish, ...]
    function_words: frozenset[str]
    category_words: dict[str, str]  # word -> category

    def single_word_verbs(self) -> dict[str, str]:
        """stem -> action for the one-word verb patterns (for typo-tolerant matching of verbs)."""
        table: dict[str, str] = {}
        for action, patterns in self.verbs.items():
            for pattern in patterns:
                words = re.findall(r"[a-z]+", pattern.pattern.replace(r"[\w]*", "").replace(r"\w", ""))
                if len(words) == 1 and len(words[0]) >= 5:
                    table.setdefault(words[0], action)
        return table


def _patterns(values: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(compile_pattern(str(value)) for value in values)


def _read(path: Path) -> dict:  # type: ignore[type-arg]
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise TypeError(f"{path}: expected a mapping at the top level")
    return data


@functools.lru_cache(maxsize=4)
def load_lexicon(folder: Path | None = None) -> Lexicon:
    base = folder or data_dir("prompts")
    data = _read(base / LEXICON_FILE)
    synonyms = _read(base / SYNONYMS_FILE)
    return Lexicon(
        verbs={action: _patterns(items) for action, items in data["verbs"].items()},
        cues={name: _patterns(items) for name, items in data["cues"].items()},
        nouns={name: frozenset(normalise(str(w)) for w in items) for name, items in data["nouns"].items()},
        status_words={name: _patterns(items) for name, items in data["status_words"].items()},
        sequence=_patterns(data["sequence"]),
        ignore=frozenset(normalise(str(w)) for w in data["ignore"]),
        pronouns=frozenset(normalise(str(w)) for w in data["pronouns"]),
        enclitic_suffixes=tuple(str(s) for s in data["enclitic_suffixes"]),
        numbers={normalise(str(k)): int(v) for k, v in data["numbers"].items()},
        italian_markers=frozenset(normalise(str(w)) for w in data["italian_markers"]),
        english_markers=frozenset(normalise(str(w)) for w in data["english_markers"]),
        category_words={
            normalise(str(word)): str(category)
            for category, words in data.get("category_words", {}).items()
            for word in words
        },
        function_words=frozenset(normalise(str(w)) for w in data.get("function_words", ())),
        wishes=tuple(
            Wish(_patterns(item["phrases"]), str(item["query"]), tuple(item.get("prefer", ())))
            for item in synonyms["wishes"]
        ),
    )
