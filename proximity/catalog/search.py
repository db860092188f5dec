"""Ranked, typo-tolerant search over catalog entries, with filters.

The index is built once per load: every field is split into lower-case tokens, and each token maps to the
entries holding it with the weight of the strongest field it appears in (name and id above tags, tags above
categories, then summary, then description). A query term scores, per entry, the best of:

- an exact token match (full weight),
- a prefix match ("jelly" -> "jellyfin"; weight scaled by how much of the token the prefix covers),
- a fuzzy match for typos ("jelyfin", "vaultwardn"), computed with rapidfuzz against the *key vocabulary*
  only (tokens of names, ids, tags and categories, bucketed by length), never against every entry.

An entry's score is the sum of its term scores, scaled down when it matches only some of the terms, plus a
bonus when the whole query is the entry's name or id.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from proximity.catalog.schema import CATEGORIES, CatalogEntry

FIELD_WEIGHTS: dict[str, float] = {
    "name": 10.0,
    "id": 10.0,
    "tag": 5.0,
    "category": 4.0,
    "summary": 2.0,
    "description": 1.0,
}
KEY_FIELDS = frozenset({"name", "id", "tag", "category"})
REQUIREMENT_FLAGS = frozenset({"nesting", "keyctl", "fuse", "tun", "privileged", "gpu", "mounts"})
INSTALL_TYPES = frozenset({"oci", "compose", "script"})

PREFIX_FACTOR = 0.8
PREFIX_MIN_LENGTH = 2
# Shorter prefixes only expand to name/id/tag/category words: "co" means "collabora", not "could".
PREFIX_ALL_WORDS_MIN_LENGTH = 4
FUZZY_FACTOR = 0.6
FUZZY_MIN_LENGTH = 4
FUZZY_CUTOFF = 75.0
FUZZY_LENGTH_SLACK = 2
EXACT_NAME_BONUS = 25.0

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
        "you",
        "your",
        "our",
        "their",
        "all",
        "any",
        "app",
        "apps",
    ]
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case alphanumeric runs, without stop words."""
    return [token for token in _TOKEN.findall(text.lower()) if token not in STOP_WORDS]


@functools.lru_cache(maxsize=4096)
def _key_tokens(text: str) -> tuple[str, ...]:
    """Tokens of a name, id, tag or category (stop words kept: they are part of a name), plus the words
    run together ("Home Assistant" -> "homeassistant"). Cached: tags and categories repeat."""
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) > 1:
        tokens.append("".join(tokens))
    return tuple(tokens)


@dataclass(frozen=True)
class SearchHit:
    entry: CatalogEntry
    score: float
    matched: tuple[str, ...]  # the index tokens the query matched, for highlighting and debugging


class SearchIndex:
    """An inverted index of catalog entries, built once, searched many times."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self._entries: list[CatalogEntry] = sorted(entries, key=lambda e: e.id)
        self._postings: dict[str, dict[int, float]] = {}
        key_vocabulary: set[str] = set()
        for position, entry in enumerate(self._entries):
            weights: dict[str, float] = {}
            for field_name, tokens in _entry_fields(entry):  # strongest field first: first weight wins
                weight = FIELD_WEIGHTS[field_name]
                for token in tokens:
                    weights.setdefault(token, weight)
                if field_name in KEY_FIELDS:
                    key_vocabulary.update(tokens)
            for token, weight in weights.items():
                self._postings.setdefault(token, {})[position] = weight
        self._vocabulary: list[str] = sorted(self._postings)
        self._key_vocabulary_sorted: list[str] = sorted(key_vocabulary)
        self._fuzzy_buckets: dict[int, list[str]] = {}
        for token in self._key_vocabulary_sorted:
            self._fuzzy_buckets.setdefault(len(token), []).append(token)
        self._key_vocabulary = frozenset(key_vocabulary)
        self._identity = {_normalize(e.name): i for i, e in enumerate(self._entries)}
        self._identity.update({_normalize(e.id): i for i, e in enumerate(self._entries)})
        self._by_name = sorted(range(len(self._entries)), key=lambda i: self._entries[i].name.lower())
        self._name_rank = [0] * len(self._entries)
        for rank, position in enumerate(self._by_name):
            self._name_rank[position] = rank
        self._facets: dict[tuple[str, str], set[int]] = {}
        for position, entry in enumerate(self._entries):
            for facet in _facets(entry):
                self._facets.setdefault(facet, set()).add(position)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    @property
    def fuzzy_vocabulary_size(self) -> int:
        return sum(len(bucket) for bucket in self._fuzzy_buckets.values())

    def search(
        self,
        query: str = "",
        *,
        category: str | None = None,
        tag: str | None = None,
        requires: Mapping[str, bool] | None = None,
        install: str | None = None,
        architecture: str | None = None,
        limit: int | None = 20,
    ) -> list[SearchHit]:
        """Entries matching ``query`` (all entries when it is empty), best first, after the filters.

        ``requires`` maps requirement flags (nesting, keyctl, fuse, tun, privileged, gpu, mounts) to the
        value wanted: ``{"gpu": False}`` keeps the entries that do not need a GPU.
        """
        _check_filters(category, requires, install)
        allowed = self._allowed(category, tag, requires, install, architecture)
        # A query made only of stop words ("the app") still searches for them rather than listing all.
        terms = list(dict.fromkeys(tokenize(query) or _TOKEN.findall(query.lower())))
        if not terms:
            ordered = [i for i in self._by_name if allowed is None or i in allowed]
            return [SearchHit(self._entries[i], 0.0, ()) for i in ordered[:limit]]
        totals: dict[int, float] = {}
        term_counts: dict[int, int] = {}
        matched: dict[int, list[str]] = {}
        for term in terms:
            for position, (score, token) in self._score_term(term).items():
                if allowed is not None and position not in allowed:
                    continue
                totals[position] = totals.get(position, 0.0) + score
                term_counts[position] = term_counts.get(position, 0) + 1
                matched.setdefault(position, []).append(token)
        exact = self._identity.get(_normalize(query))
        scores: dict[int, float] = {}
        for position, total in totals.items():
            coverage = term_counts[position] / len(terms)
            score = total * coverage * coverage
            if position == exact:
                score += EXACT_NAME_BONUS
            scores[position] = round(score, 4)
        ranked = heapq.nsmallest(
            len(scores) if limit is None else limit, scores, key=lambda i: (-scores[i], self._name_rank[i])
        )
        return [SearchHit(self._entries[i], scores[i], tuple(matched[i])) for i in ranked]

    def _allowed(
        self,
        category: str | None,
        tag: str | None,
        requires: Mapping[str, bool] | None,
        install: str | None,
        architecture: str | None,
    ) -> set[int] | None:
        """Positions passing the filters (from the facet sets built with the index); None: no filter."""
        wanted = [("category", category), ("tag", tag), ("install", install), ("architecture", architecture)]
        sets = [self._facets.get((kind, value), set()) for kind, value in wanted if value is not None]
        excluded: list[set[int]] = []
        for flag, value in (requires or {}).items():
            (sets if value else excluded).append(self._facets.get(("requires", flag), set()))
        if not sets and not excluded:
            return None
        allowed = set.intersection(*sets) if sets else set(range(len(self._entries)))
        for positions in excluded:
            allowed = allowed - positions
        return allowed

    def _score_term(self, term: str) -> dict[int, tuple[float, str]]:
        """Entry position -> (best score for this term, the token that gave it)."""
        best: dict[int, tuple[float, str]] = {}

        def offer(token: str, factor: float) -> None:
            for position, weight in self._postings[token].items():
                score = weight * factor
                if score > best.get(position, (0.0, ""))[0]:
                    best[position] = (score, token)

        if term in self._postings:
            offer(term, 1.0)
        if len(term) >= PREFIX_MIN_LENGTH:
            words = (
                self._vocabulary if len(term) >= PREFIX_ALL_WORDS_MIN_LENGTH else self._key_vocabulary_sorted
            )
            start = bisect.bisect_right(words, term)
            for index in range(start, len(words)):
                token = words[index]
                if not token.startswith(term):
                    break
                offer(token, PREFIX_FACTOR * (len(term) / len(token)) ** 0.5)
        # A term that is itself a name/id/tag/category word is spelled right: no typo correction.
        if len(term) >= FUZZY_MIN_LENGTH and term not in self._key_vocabulary:
            for token, similarity in self._fuzzy_candidates(term):
                offer(token, FUZZY_FACTOR * similarity / 100.0)
        return best

    def _fuzzy_candidates(self, term: str) -> list[tuple[str, float]]:
        from rapidfuzz import fuzz, process  # imported with the first typo, not when the catalog loads

        found: list[tuple[str, float]] = []
        for length in range(len(term) - FUZZY_LENGTH_SLACK, len(term) + FUZZY_LENGTH_SLACK + 1):
            bucket = self._fuzzy_buckets.get(length)
            if not bucket:
                continue
            for token, similarity, _ in process.extract(
                term, bucket, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=5
            ):
                if token != term:
                    found.append((token, similarity))
        return found


def _normalize(text: str) -> str:
    return "".join(_TOKEN.findall(text.lower()))


def _entry_fields(entry: CatalogEntry) -> list[tuple[str, Sequence[str]]]:
    """The searchable fields of an entry with their tokens, strongest field (FIELD_WEIGHTS) first."""
    return [
        ("name", _key_tokens(entry.name)),
        ("id", _key_tokens(entry.id)),
        ("tag", [token for tag in entry.tags for token in _key_tokens(tag)]),
        ("category", [token for category in entry.categories for token in _key_tokens(category)]),
        ("summary", tokenize(entry.summary)),
        ("description", tokenize(entry.description)),
    ]


def _check_filters(category: str | None, requires: Mapping[str, bool] | None, install: str | None) -> None:
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    unknown = set(requires or {}) - REQUIREMENT_FLAGS
    if unknown:
        raise ValueError(
            f"unknown requirement(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(REQUIREMENT_FLAGS))}"
        )
    if install is not None and install not in INSTALL_TYPES:
        raise ValueError(f"unknown install type {install!r}; known: {', '.join(sorted(INSTALL_TYPES))}")


def _facets(entry: CatalogEntry) -> Iterable[tuple[str, str]]:
    """The filterable facts of an entry, as (kind, value) pairs."""
    yield from (("category", category) for category in entry.categories)
    yield from (("tag", tag) for tag in entry.tags)
    yield from (("install", method.type) for method in entry.install)
    yield from (("architecture", arch) for arch in entry.architectures)
    for flag in REQUIREMENT_FLAGS:
        has = bool(entry.requirements.mounts) if flag == "mounts" else bool(getattr(entry.requirements, flag))
        if has:
            yield ("requires", flag)
