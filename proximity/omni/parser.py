"""Deterministic parsing of a request (English or Italian) into ranked candidate plans.

A request is split into clauses (sequencing words, then connectives between different verbs); each clause
gets an action from the lexicon's verbs (or, with no verb, from its nouns and cues: "quali app sono
spente?"), names from the live state, sizes and counts; a vague wish ("voglio guardare i miei film") is
answered by retrieval over the catalog and the synonym table. Each clause may have several options (an
ambiguous name, several catalog entries for a wish); the plan candidates are their combinations, scored.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from proximity.catalog.search import STOP_WORDS
from proximity.omni.entities import (
    EXACT,
    NAME_MARKERS,
    NameHit,
    Sizes,
    extract_sizes,
    find_new_name,
    match_names,
    words_to_digits,
)
from proximity.omni.lexicon import Lexicon, load_lexicon, normalise
from proximity.omni.llm_grammar import OUT_OF_SCOPE
from proximity.omni.plan import REFUSED, ArgValue, Language
from proximity.omni.state import LiveState

Call = tuple[str, dict[str, ArgValue]]

NEEDS_APP = frozenset(
    {
        "apps.start",
        "apps.stop",
        "apps.restart",
        "apps.delete",
        "apps.clone",
        "apps.update",
        "apps.logs",
        "apps.migrate",
        "apps.resize",
        "backups.create",
        "backups.restore",
    }
)
DESTRUCTIVE_BULK = frozenset({"apps.delete", "backups.restore"})
INFERRED = 0.6  # an action read from nouns and cues rather than a verb
MAX_CANDIDATES = 12
CONNECTIVES = frozenset({"and", "e", "ed", "plus", "also", "anche", "&"})


@dataclass(frozen=True)
class Candidate:
    calls: tuple[Call, ...]
    score: float  # relative, over the candidates of one request (they sum to 1)
    quality: float  # how sure the parser is of the best reading of each clause (the weakest)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParseResult:
    language: Language
    candidates: tuple[Candidate, ...]  # best first; never empty

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    @property
    def confidence(self) -> float:
        return round(self.best.score * self.best.quality, 4)


@dataclass(frozen=True)
class _Option:
    calls: tuple[Call, ...]
    weight: float
    note: str = ""


@dataclass(frozen=True)
class _VerbHit:
    action: str
    start: int
    end: int
    text: str
    stems: tuple[str, ...]  # the pattern's own words: a word in its gap ("turn pihole off") stays a name


@dataclass
class _Context:
    language: Language = "en"
    last_apps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Exception:
    """The part of a clause an "except" cue governs ("stop all apps except plex and gitea")."""

    names: tuple[str, ...]  # the apps it names, in text order (several readings of one word included)
    readings: tuple[str, ...]  # how an inexact word was read: "jelly = jellyfin"
    unknown: tuple[str, ...]  # words there that name no app of the live state
    dangling: bool  # the cue ends the clause: "stop all apps except"

    @property
    def understood(self) -> bool:
        return bool(self.names) and not self.unknown and not self.dangling


class Parser:
    def __init__(self, state: LiveState, lexicon: Lexicon | None = None):
        self.state = state
        self.lexicon = lexicon or load_lexicon()
        self._catalog_names: dict[str, str] = {}
        for entry in state.catalog:
            self._catalog_names[entry.id] = entry.id
            self._catalog_names.setdefault(normalise(entry.name), entry.id)
        self._categories = {normalise(c.replace("-", " ")): c for c in state.catalog.categories()}
        self._categories.update(
            {
                word: category
                for word, category in self.lexicon.category_words.items()
                if category in state.catalog.categories()
            }
        )
        self._not_names = self.lexicon.function_words | self.lexicon.pronouns
        self._verb_stems = self.lexicon.single_word_verbs()
        cue_words = {
            w
            for patterns in self.lexicon.cues.values()
            for p in patterns
            for w in re.findall(r"[a-z]+", p.pattern)
        }
        self._not_verbs = self.lexicon.ignore | frozenset(cue_words).union(*self.lexicon.nouns.values())
        # words an "except ..." part may hold besides names ("except for plex, please")
        self._filler = self._not_verbs | self.lexicon.function_words | self._not_names | CONNECTIVES

    # ------------------------------------------------------------ entry point

    def parse(self, request: str) -> ParseResult:
        language = self.language(request)
        context = _Context(language)
        clause_options: list[list[_Option]] = []
        understood: list[str] = []
        for clause in self.clauses(request):
            options = self._clause_options(clause, context)
            if options:
                clause_options.append(options)
            else:
                understood += [hit.action for hit in self.verb_hits(clause)]
        if not clause_options:
            notes = (_unmatched_note(understood, self.state, language),) if understood else ()
            return ParseResult(language, (Candidate(((OUT_OF_SCOPE, {}),), 1.0, 1.0, notes),))
        return ParseResult(language, self._combine(clause_options))

    def language(self, request: str) -> Language:
        words = normalise(request).split()
        italian = sum(word in self.lexicon.italian_markers for word in words)
        english = sum(word in self.lexicon.english_markers for word in words)
        return "it" if italian > english else "en"

    # ------------------------------------------------------------ clauses

    def clauses(self, request: str) -> list[str]:
        raw = re.sub(r",(?!\d)", " and ", request)
        pieces = re.split(r"[;!?\n]|\.(?=\s|$)", raw)
        clauses: list[str] = []
        for piece in pieces:
            text = words_to_digits(normalise(piece), self.lexicon)
            for part in self._split_on(text, self.lexicon.sequence):
                clauses.extend(self._split_between_verbs(part))
        return [clause for clause in (_trim_connectives(c) for c in clauses) if clause]

    @staticmethod
    def _split_on(text: str, patterns: tuple[re.Pattern[str], ...]) -> list[str]:
        spans = sorted((m.start(), m.end()) for p in patterns for m in p.finditer(text))
        parts, position = [], 0
        for start, end in spans:
            if start < position:
                continue
            parts.append(text[position:start])
            position = end
        parts.append(text[position:])
        return parts

    def verb_hits(self, text: str) -> list[_VerbHit]:
        """Verb matches, longest first where they overlap, in text order."""
        found = [
            _VerbHit(action, m.start(), m.end(), m.group(0), pattern_stems(pattern))
            for action, patterns in self.lexicon.verbs.items()
            for pattern in patterns
            for m in pattern.finditer(text)
        ]
        found.sort(key=lambda hit: (-(hit.end - hit.start), hit.start))
        chosen: list[_VerbHit] = []
        for hit in found:
            if all(hit.end <= other.start or hit.start >= other.end for other in chosen):
                chosen.append(hit)
        if not chosen:
            chosen = self._misspelt_verbs(text)
        if any(hit.action == "backups.restore" for hit in chosen):  # "restore X from the last backup"
            chosen = [hit for hit in chosen if not (hit.action == "backups.create" and hit.text == "backup")]
        return sorted(chosen, key=lambda hit: hit.start)

    def _misspelt_verbs(self, text: str) -> list[_VerbHit]:
        """Typo-tolerant verbs ("restrat", "riavia"), tried only when no verb matched as written; a word
        that names an app is never taken for a verb."""
        hits: list[_VerbHit] = []
        position = 0
        for token in text.split(" "):
            start = text.index(token, position)
            position = start + len(token)
            if len(token) < 5 or token in self._not_verbs or token in self.state.apps:
                continue
            best, best_ratio = None, 0.0
            for stem, action in self._verb_stems.items():
                if stem[:2] != token[:2]:
                    continue
                ratio = max(fuzz.ratio(token, stem), fuzz.ratio(token[: len(stem) + 1], stem))
                if ratio > best_ratio:
                    best, best_ratio = (stem, action), ratio
            if best is not None and best_ratio >= 80:
                hits.append(_VerbHit(best[1], start, position, token, (token,)))
        return hits

    def _split_between_verbs(self, text: str) -> list[str]:
        hits = self.verb_hits(text)
        cuts: list[int] = []
        for before, after in itertools.pairwise(hits):
            if before.action == after.action:
                continue
            between = text[before.end : after.start]
            cut = after.start
            for match in re.finditer(r"(?<!\S)(\S+)(?!\S)", between):
                if match.group(1) in CONNECTIVES:
                    cut = before.end + match.start()
            cuts.append(cut)
        parts, position = [], 0
        for cut in cuts:
            parts.append(text[position:cut])
            position = cut
        parts.append(text[position:])
        return [re.sub(r"^(?:and|e|ed|plus|also|anche)\s+", "", part.strip()) for part in parts]

    # ------------------------------------------------------------ one clause

    @staticmethod
    def _covered_tokens(text: str, spans: list[tuple[int, int, tuple[str, ...]]]) -> set[int]:
        """Token indexes inside the spans; with stems, only the tokens that are the pattern's own words."""
        covered: set[int] = set()
        position = 0
        for index, token in enumerate(text.split(" ")):
            start = text.index(token, position) if token else position
            end = start + len(token)
            position = end
            for s_start, s_end, stems in spans:
                if start < s_end and end > s_start and (not stems or token.startswith(stems)):
                    covered.add(index)
        return covered

    def _cue(self, name: str, text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for p in self.lexicon.cues[name] for m in p.finditer(text)]

    def _clause_options(self, text: str, context: _Context) -> list[_Option]:
        lex = self.lexicon
        verbs = self.verb_hits(text)
        purge_spans = self._cue("purge", text)
        list_spans = self._cue("list", text)
        status_spans = self._cue("status", text)
        wish_spans = self._cue("wish", text)
        tokens = text.split(" ")
        covered = self._covered_tokens(
            text, [(v.start, v.end, v.stems) for v in verbs] + [(a, b, ()) for a, b in purge_spans]
        )
        blocked = frozenset(lex.ignore | {tokens[i] for i in covered})
        apps = [h for h in match_names(tokens, self.state.apps, blocked) if h.score >= 0.4]
        places = [h for h in match_names(tokens, self.state.places, blocked) if h.score >= 0.8]
        catalog = self._catalog_hits(tokens, blocked)
        backups = [b for b in self.state.backup_ids if b.lower() in text]
        sizes = extract_sizes(text, lex)
        unpurged = text
        for start, end in sorted(purge_spans, reverse=True):
            unpurged = unpurged[:start] + " " * (end - start) + unpurged[end:]
        bulk = bool(self._cue("all", unpurged))
        words = set(tokens)
        action = verbs[0].action if verbs else None
        weight = 1.0

        if action == "backups.create" and verbs[0].text == "backup" and (list_spans or "backups" in words):
            action = "backups.list"
        if action == "apps.logs" and not apps and not context.last_apps:
            action = None
        adding = bool(verbs) and verbs[0].text in ("add", "aggiungi", "aggiungere")
        if action == "apps.deploy" and adding and apps and sizes.resize_args():
            action = "apps.resize"  # "add 2 cores to jellyfin"
        if action == "apps.resize" and not sizes.resize_args():
            return []
        if action == "apps.start" and not apps and catalog and not context.last_apps:
            action = "apps.deploy"
        if action == "help" and (apps or catalog) and len(verbs) == 1 and verbs[0].text.startswith("help"):
            return []
        if action is None:
            action, weight = self._infer_action(
                text, words, apps, places, catalog, sizes, list_spans, status_spans, wish_spans
            )
            if action is None:
                return []

        keep_some = bulk and bool(self._cue("except", unpurged))  # "delete all apps except gitea"
        if action in DESTRUCTIVE_BULK and bulk and (not apps or keep_some):
            reason = "bulk destructive request: name the apps one by one, each is confirmed by its name"
            return [_Option(((REFUSED, {"reason": reason}),), 1.0)]
        exception = self._exception(text, unpurged, tokens, verbs, apps, places)
        if exception is not None:  # the apps it names are the ones to leave alone, never targets
            apps = [hit for hit in apps if hit.name not in exception.names]
        if action in NEEDS_APP and bulk and (not apps or exception is not None):
            left_out = exception.names if exception is not None else ()
            refusal = _exception_refusal(exception, self.state, context.language) if exception else None
            names = [app for app in self.state.apps if app not in left_out]
            if refusal is None and not names:
                refusal = _nothing_left_refusal(left_out, context.language)
            if refusal is not None:
                return [_Option(((REFUSED, {"reason": refusal}),), 1.0)]
            calls = tuple(
                self._calls(action, names, text, tokens, places, catalog, sizes, backups, purge_spans)
            )
            return [_Option(calls, INFERRED, _bulk_note(exception, context.language))] if calls else []

        if action == "apps.deploy":
            options = self._deploy_options(text, tokens, catalog, places, sizes, context.language, weight)
            if options:  # "install immich and then back it up": the new app is "it"
                args = options[0].calls[0][1]
                context.last_apps = [str(args.get("name") or args["catalog_id"])]
            if options or not list_spans:
                return options
            action = "catalog.search"  # "what media apps can I install?"
        if action == "catalog.search":
            return [_Option(((action, self._search_args(text, tokens, covered)),), weight)]

        if action in NEEDS_APP:
            target_sets = self._targets(apps, context)
            if not target_sets:
                if wish_spans and self._wishes(text):  # "something to back up my photos"
                    return self._deploy_options(text, tokens, [], places, sizes, context.language, INFERRED)
                return []
            options = []
            for names, target_weight in target_sets:
                calls = tuple(
                    self._calls(action, names, text, tokens, places, catalog, sizes, backups, purge_spans)
                )
                if calls:
                    options.append(_Option(calls, weight * target_weight))
            if options:  # "clone immich as immich-copy and start it": "it" is the copy
                first_action, first_args = options[0].calls[0]
                created = first_args.get("new_name") if first_action == "apps.clone" else None
                context.last_apps = [str(created)] if created else list(_names_of(options[0].calls))
            return options

        calls = tuple(
            self._calls(
                action,
                [apps[0].name] if apps else [],
                text,
                tokens,
                places,
                catalog,
                sizes,
                backups,
                purge_spans,
            )
        )
        if apps and action == "apps.list":
            context.last_apps = [apps[0].name]
        note = _unfiltered_note(exception, context.language) if exception is not None else ""
        return [_Option(calls, weight, note)] if calls else []

    def _exception(
        self,
        text: str,
        unpurged: str,
        tokens: list[str],
        verbs: list[_VerbHit],
        apps: list[NameHit],
        places: list[NameHit],
    ) -> _Exception | None:
        """What an "except" cue leaves out: the words from the cue to the next verb or "all" word, else to
        the clause end ("a parte gitea, ferma tutto"; "stop all apps except plex and gitea"). None without
        a cue, or when a verb follows it at once ("I know it's late but stop all apps")."""
        cues = _merged_spans(self._cue("except", unpurged))
        if not cues:
            return None
        stops = sorted([hit.start for hit in verbs] + [start for start, _ in self._cue("all", unpurged)])
        starts = _token_starts(text)
        region: set[int] = set()
        dangling = False
        for _, cue_end in cues:
            stop = next((s for s in stops if s >= cue_end), len(text))
            inside = {index for index, start in enumerate(starts) if cue_end <= start < stop}
            dangling |= not inside and stop == len(text)
            region |= inside
        if not region and not dangling:
            return None
        named = [hit for hit in apps if hit.start in region]
        chosen = [hit for hit in named if hit.score >= EXACT]
        exact_tokens = {index for hit in chosen for index in range(hit.start, hit.end)}
        inexact = [hit for hit in named if hit.score < EXACT and hit.start not in exact_tokens]
        readings: list[str] = []
        for start in sorted({hit.start for hit in inexact}):  # a prefix or typo: every close reading
            here = [hit for hit in inexact if hit.start == start]
            top = max(hit.score for hit in here)
            kept = [hit for hit in here if hit.score >= top - 0.2]
            chosen += kept
            readings.append(f"{tokens[start]} = {' / '.join(hit.name for hit in kept)}")
        covered = {index for hit in chosen + places for index in range(hit.start, hit.end)}
        unknown = tuple(
            tokens[index]
            for index in sorted(region - covered)
            if not (tokens[index] in self._filler or len(tokens[index]) < 2 or tokens[index][0].isdigit())
        )
        names = tuple(dict.fromkeys(hit.name for hit in sorted(chosen, key=lambda hit: hit.start)))
        return _Exception(names, tuple(readings), unknown, dangling)

    def _infer_action(
        self,
        text: str,
        words: set[str],
        apps: list[NameHit],
        places: list[NameHit],
        catalog: list[NameHit],
        sizes: Sizes,
        list_spans: list[tuple[int, int]],
        status_spans: list[tuple[int, int]],
        wish_spans: list[tuple[int, int]],
    ) -> tuple[str | None, float]:
        nouns = self.lexicon.nouns
        if words & nouns["backups"]:
            return "backups.list", INFERRED
        if apps and sizes.resize_args():
            return "apps.resize", INFERRED
        if wish_spans or (self._wishes(text) and not (apps or places)):
            return "apps.deploy", INFERRED
        if words & nouns["catalog"]:
            return "catalog.search", INFERRED
        if (words & nouns["apps"]) and (list_spans or status_spans or self._status_word(text)):
            return "apps.list", INFERRED
        if places and (status_spans or list_spans) and not apps:
            return "hosts.status", INFERRED
        if words & nouns["hosts"] and (list_spans or status_spans):
            return "hosts.list", INFERRED
        if apps and (status_spans or list_spans or self._status_word(text)):
            return "apps.list", INFERRED
        if list_spans and self._status_word(text) and not catalog:
            return "apps.list", INFERRED
        return None, 0.0

    def _status_word(self, text: str) -> str | None:
        for status in ("stopped", "running"):  # "not running" is stopped: check it first
            if any(p.search(text) for p in self.lexicon.status_words[status]):
                return status
        return None

    def _wishes(self, text: str) -> list[str]:
        """Catalog ids for the wishes the text mentions, most likely first."""
        ranked: dict[str, float] = {}
        for wish in self.lexicon.wishes:
            if not any(p.search(text) for p in wish.patterns):
                continue
            preferred = [i for i in wish.prefer if i in self._catalog_names.values()]
            hits = [hit.entry.id for hit in self.state.catalog.search(wish.query)[:4]]
            for rank, entry_id in enumerate(dict.fromkeys(preferred + hits)):
                ranked[entry_id] = ranked.get(entry_id, 0.0) + 1.0 / (rank + 1)
        return sorted(ranked, key=lambda entry_id: -ranked[entry_id])

    def _catalog_hits(self, tokens: list[str], blocked: frozenset[str]) -> list[NameHit]:
        hits = match_names(tokens, list(self._catalog_names), blocked)
        merged: dict[str, NameHit] = {}
        for hit in hits:
            entry_id = self._catalog_names[hit.name]
            held = merged.get(entry_id)
            if held is None or hit.score > held.score:
                merged[entry_id] = NameHit(entry_id, hit.score, hit.start, hit.end)
        return sorted((h for h in merged.values() if h.score >= 0.5), key=lambda h: (-h.score, h.start))

    def _targets(self, apps: list[NameHit], context: _Context) -> list[tuple[list[str], float]]:
        """Which apps a clause acts on: every exactly named app (a list), else the best fuzzy readings,
        else the apps of the clause before (a pronoun, or an elided object)."""
        exact = [hit for hit in apps if hit.score >= EXACT]
        if exact:
            ordered = sorted(exact, key=lambda hit: hit.start)
            return [([hit.name for hit in ordered], 1.0)]
        if apps:
            top = apps[0].score
            return [([hit.name], hit.score) for hit in apps[:3] if hit.score >= top - 0.2]
        if context.last_apps:
            return [(list(context.last_apps), 0.9)]
        return []

    def _deploy_options(
        self,
        text: str,
        tokens: list[str],
        catalog: list[NameHit],
        places: list[NameHit],
        sizes: Sizes,
        language: Language,
        weight: float,
    ) -> list[_Option]:
        choices: list[tuple[str, float, str]] = []
        exact = [hit for hit in catalog if hit.score >= EXACT]
        if exact:
            choices = [(hit.name, 1.0, "") for hit in exact[:1]]
        else:
            wished = self._wishes(text)
            if wished:
                lead = (
                    "scelta dal catalogo per il tuo desiderio; alternative: "
                    if language == "it"
                    else "picked from the catalog for your wish; alternatives: "
                )
                note = lead + ", ".join(wished[1:4])
                choices = [(entry_id, 0.8 / (rank + 1), note) for rank, entry_id in enumerate(wished[:4])]
            elif catalog:
                choices = [(hit.name, hit.score, "") for hit in catalog[:3]]
        options = []
        for entry_id, choice_weight, note in choices:
            args: dict[str, ArgValue] = {"catalog_id": entry_id}
            new_name = find_new_name(tokens, self.state.apps, NAME_MARKERS, self._not_names)
            if new_name and new_name != entry_id:
                args["name"] = new_name
            for hit in places[:1]:
                args["node" if hit.name in self.state.nodes else "host"] = hit.name
            args.update(sizes.resize_args())
            options.append(_Option(((("apps.deploy", args)),), weight * choice_weight, note))
        return options

    def _search_args(self, text: str, tokens: list[str], covered: set[int]) -> dict[str, ArgValue]:
        """A category when one is named; the query of a matching wish ("ricette" -> "recipes"), else the
        clause's content words."""
        lex = self.lexicon
        content = [
            token
            for index, token in enumerate(tokens)
            if index not in covered
            and token not in STOP_WORDS
            and token not in lex.function_words
            and token not in lex.nouns["catalog"]
            and not any(p.fullmatch(token) for p in lex.cues["list"])
            and len(token) > 1
        ]
        args: dict[str, ArgValue] = {}
        for first, second in itertools.pairwise(list(content)):  # "home automation" before "automation"
            if f"{first} {second}" in self._categories:
                args["category"] = self._categories[f"{first} {second}"]
                content.remove(first)
                content.remove(second)
                break
        for token in list(content) if "category" not in args else []:
            if token in self._categories:
                args["category"] = self._categories[token]
                content.remove(token)
                break
        wish_queries = [w.query for w in lex.wishes if any(p.search(text) for p in w.patterns)]
        if wish_queries and "category" not in args:
            args["query"] = wish_queries[0]
        elif content:
            args["query"] = " ".join(content)
        return args

    def _calls(
        self,
        action: str,
        names: list[str],
        text: str,
        tokens: list[str],
        places: list[NameHit],
        catalog: list[NameHit],
        sizes: Sizes,
        backups: list[str],
        purge_spans: list[tuple[int, int]],
    ) -> list[Call]:
        calls: list[Call] = []
        if action in ("apps.start", "apps.stop", "apps.restart", "apps.update"):
            calls = [(action, {"name": name}) for name in names]
        elif action == "apps.delete":
            calls = [(action, {"name": name, **({"purge": True} if purge_spans else {})}) for name in names]
        elif action == "apps.logs":
            calls = [
                (action, {"name": name, **({"lines": sizes.lines} if sizes.lines else {})}) for name in names
            ]
        elif action == "apps.clone" and names:
            new_name = find_new_name(tokens, self.state.apps, refused=self._not_names)
            if new_name:
                calls = [(action, {"name": names[0], "new_name": new_name})]
        elif action == "apps.migrate":
            nodes = [hit.name for hit in places if hit.name in self.state.nodes]
            if nodes:
                calls = [(action, {"name": name, "node": nodes[0]}) for name in names]
        elif action == "apps.resize" and sizes.resize_args():
            calls = [(action, {"name": name, **sizes.resize_args()}) for name in names]
        elif action == "backups.create":
            calls = [(action, {"app": name}) for name in names]
        elif action == "backups.restore":
            as_name = find_new_name(tokens, self.state.apps, NAME_MARKERS, self._not_names)
            extra: dict[str, ArgValue] = {"as_name": as_name} if as_name and as_name not in names else {}
            if backups:
                calls = [(action, {"backup_id": backups[0], **extra})]
            else:
                calls = [(action, {"app": name, **extra}) for name in names]
        elif action == "backups.list":
            calls = [(action, {"app": names[0]} if names else {})]
        elif action == "apps.list":
            args: dict[str, ArgValue] = {}
            status = self._status_word(text)
            if status and not names:
                args["status"] = status
            hosts = [hit.name for hit in places if hit.name in self.state.hosts]
            if hosts:
                args["host"] = hosts[0]
            if names:
                args["name"] = names[0]
            calls = [(action, args)]
        elif action == "hosts.list":
            calls = [(action, {})]
        elif action == "hosts.status":
            calls = [(action, {"host": places[0].name})] if places else []
        elif action == "help":
            calls = [(action, {})]
        return calls

    # ------------------------------------------------------------ combining clauses

    def _combine(self, clause_options: list[list[_Option]]) -> tuple[Candidate, ...]:
        quality = min(max(option.weight for option in options) for options in clause_options)
        combos = []
        for choice in itertools.islice(itertools.product(*clause_options), 64):
            score = 1.0
            for option in choice:
                score *= option.weight
            calls = tuple(call for option in choice for call in option.calls)
            notes = tuple(option.note for option in choice if option.note)
            combos.append((calls, score, notes))
        combos.sort(key=lambda item: -item[1])
        total = sum(score for _, score, _ in combos[:MAX_CANDIDATES]) or 1.0
        return tuple(
            Candidate(calls, score / total, min(1.0, quality), notes)
            for calls, score, notes in combos[:MAX_CANDIDATES]
        )


def pattern_stems(pattern: re.Pattern[str]) -> tuple[str, ...]:
    body = pattern.pattern.replace(r"(?:[\w.\-]+ ){0,3}?", " ").replace(r"[\w]*", "")
    return tuple(re.findall(r"[a-z0-9]+", body.replace(r"(?<![\w\-])", "").replace(r"(?![\w\-])", "")))


def _names_of(calls: tuple[Call, ...]) -> list[str]:
    names = []
    for _, args in calls:
        for key in ("name", "app"):
            value = args.get(key)
            if isinstance(value, str):
                names.append(value)
                break
    return list(dict.fromkeys(names))


def _trim_connectives(clause: str) -> str:
    words = clause.split()
    while words and words[0] in CONNECTIVES:
        words.pop(0)
    while words and words[-1] in CONNECTIVES:
        words.pop()
    return " ".join(words)


def _merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping matches as one span ("except" inside "except for")."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _token_starts(text: str) -> list[int]:
    """The character offset of each token of a normalised clause (tokens are ``text.split(" ")``)."""
    starts, position = [], 0
    for token in text.split(" "):
        starts.append(position)
        position += len(token) + 1
    return starts


def _bulk_note(exception: _Exception | None, language: Language) -> str:
    it = language == "it"
    if exception is None:
        return "esteso a tutte le app" if it else "expanded to every app"
    left_out = ", ".join(exception.names)
    note = f"esteso a tutte le app tranne {left_out}" if it else f"expanded to every app except {left_out}"
    if exception.readings:
        readings = "; ".join(exception.readings)
        note += f" (letto: {readings})" if it else f" (read as: {readings})"
    return note


def _unfiltered_note(exception: _Exception, language: Language) -> str:
    """A read (a listing) has no way to leave apps out: it shows them all, and says so."""
    if not exception.names:
        return ""
    left_out = ", ".join(exception.names)
    if language == "it":
        return f"l'elenco non può escludere app: mostra anche {left_out}"
    return f"a listing cannot leave apps out: it shows {left_out} too"


def _exception_refusal(exception: _Exception, state: LiveState, language: Language) -> str | None:
    """Why a bulk request with an exception it cannot resolve is refused; None when it is understood.
    An unknown name is never dropped: it may be a misspelt app the person wants left alone."""
    if exception.understood:
        return None
    it = language == "it"
    if exception.dangling or not exception.unknown:
        if it:
            return "l'eccezione non nomina nessuna app: scrivi quali app lasciare fuori"
        return "the exception names no app: say which apps to leave out"
    words = ", ".join(exception.unknown[:5])
    apps = ", ".join(state.apps[:10]) or ("nessuna" if it else "none")
    if it:
        return (
            f"l'eccezione nomina qualcosa che non è un'app esistente ({words}); "
            f"scrivi i nomi delle app da lasciare fuori (app: {apps})"
        )
    return (
        f"the exception names no existing app ({words}); "
        f"name the apps to leave out as they are called (apps: {apps})"
    )


def _nothing_left_refusal(left_out: tuple[str, ...], language: Language) -> str:
    names = ", ".join(left_out)
    if language == "it":
        return f"l'eccezione comprende tutte le app ({names}): non resta nulla da fare"
    return f"the exception covers every app ({names}): nothing is left to act on"


def _unmatched_note(actions: list[str], state: LiveState, language: Language) -> str:
    """Why a request with a recognised verb still got no plan: nothing it names exists."""
    apps = ", ".join(state.apps[:10]) or ("nessuna" if language == "it" else "none")
    if language == "it":
        return f"ho capito {actions[0]}, ma non nomina un'app o un nodo che esista (app: {apps})"
    return f"understood {actions[0]}, but it names no existing app or node (apps: {apps})"
