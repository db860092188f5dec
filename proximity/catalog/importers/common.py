"""What the importers share: the import report, id/summary/icon helpers, category mapping, writing files.

An importer never drops data silently. For each converted app the report lists the upstream fields that
could not be carried over as they were (``lossy``) and the facts the importer had to assume because the
source does not state them (``assumed``); each skipped app says why.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from proximity.catalog.schema import APP_ID, CATEGORIES, CatalogEntry

UNKNOWN_LICENSE = "NOASSERTION"  # SPDX's word for "the source does not say"
UNKNOWN_VERSION = "unknown"

_WORD = re.compile(r"[a-z0-9]+")
_CATEGORY_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("video", "media"),
    ("music", "media"),
    ("media", "media"),
    ("stream", "media"),
    ("movie", "media"),
    ("audio", "media"),
    ("tv", "media"),
    ("arr", "media"),
    ("photo", "photos"),
    ("camera", "home-automation"),
    ("nvr", "home-automation"),
    ("download", "downloads"),
    ("torrent", "downloads"),
    ("usenet", "downloads"),
    ("arr", "downloads"),
    ("home", "home-automation"),
    ("iot", "home-automation"),
    ("zigbee", "home-automation"),
    ("wave", "home-automation"),
    ("matter", "home-automation"),
    ("mqtt", "home-automation"),
    ("productivity", "productivity"),
    ("project", "productivity"),
    ("business", "productivity"),
    ("erp", "productivity"),
    ("office", "productivity"),
    ("document", "documents"),
    ("notes", "documents"),
    ("wiki", "documents"),
    ("cms", "documents"),
    ("blog", "documents"),
    ("development", "development"),
    ("dev", "development"),
    ("coding", "development"),
    ("git", "development"),
    ("docker", "development"),
    ("containers", "development"),
    ("monitor", "monitoring"),
    ("metrics", "monitoring"),
    ("logging", "monitoring"),
    ("network", "networking"),
    ("firewall", "networking"),
    ("proxy", "networking"),
    ("proxies", "networking"),
    ("webserver", "networking"),
    ("webservers", "networking"),
    ("vpn", "networking"),
    ("dns", "dns"),
    ("adblock", "dns"),
    ("adblocking", "dns"),
    ("security", "security"),
    ("authentication", "security"),
    ("password", "security"),
    ("database", "databases"),
    ("databases", "databases"),
    ("db", "databases"),
    ("ai", "ai"),
    ("llm", "ai"),
    ("chat", "communication"),
    ("chatops", "communication"),
    ("communication", "communication"),
    ("messaging", "communication"),
    ("email", "communication"),
    ("mail", "communication"),
    ("social", "communication"),
    ("bots", "communication"),
    ("dashboard", "dashboards"),
    ("dashboards", "dashboards"),
    ("frontends", "dashboards"),
    ("storage", "storage"),
    ("files", "storage"),
    ("cloud", "storage"),
    ("backup", "backup"),
    ("recovery", "backup"),
    ("finance", "finance"),
    ("budgeting", "finance"),
    ("money", "finance"),
    ("automation", "automation"),
    ("scheduling", "automation"),
    ("analytics", "analytics"),
    ("education", "education"),
    ("learning", "education"),
    ("gaming", "gaming"),
    ("game", "gaming"),
    ("games", "gaming"),
    ("leisure", "gaming"),
)


class ImportSourceError(ValueError):
    """The file or folder given to an importer is not in the format it reads."""


@dataclass
class Converted:
    id: str
    name: str
    reference: str
    lossy: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)
    path: str | None = None  # set once written


@dataclass(frozen=True)
class Skipped:
    reference: str
    name: str
    reason: str


@dataclass
class ImportResult:
    importer: str
    source: str
    entries: list[tuple[CatalogEntry, Converted]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            "importer": self.importer,
            "source": self.source,
            "converted": [asdict(info) for _, info in self.entries],
            "skipped": [asdict(skip) for skip in self.skipped],
            "ignored_files": list(self.ignored_files),
            "counts": {"converted": len(self.entries), "skipped": len(self.skipped)},
        }


class IdAllocator:
    """Turns upstream names into unique catalog ids, recording the renames it had to make."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next_number: dict[str, int] = {}  # per base: where the search for a free "-N" resumes

    def allocate(self, wanted: str, info_assumed: list[str]) -> str:
        base = slugify(wanted) or "app"
        if base != wanted.strip().lower():
            info_assumed.append(f"id {base!r} made from {wanted!r}")
        candidate, number = base, self._next_number.get(base, 2)
        while candidate in self._taken:  # resuming keeps n apps of one name linear, not quadratic
            candidate = f"{base[:58]}-{number}"
            number += 1
        self._next_number[base] = number
        if candidate != base:
            info_assumed.append(f"id {candidate!r}: {base!r} was already taken in this import")
        self._taken.add(candidate)
        return candidate


def whole_number(text: str, max_digits: int = 9) -> int | None:
    """``text`` as a whole number when it is one of at most ``max_digits`` ASCII digits (``str.isdigit``
    also accepts "²", which ``int`` refuses, and ``int`` refuses more than 4,300 digits)."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= max_digits:
        return int(stripped)
    return None


def slugify(text: str) -> str:
    slug = "-".join(_WORD.findall(text.lower()))[:63].strip("-")
    return slug if re.fullmatch(APP_ID, slug) else ""


def summary_from(description: str, fallback: str) -> str:
    """The first sentence of ``description`` within 200 characters (the schema's limit)."""
    text = " ".join(description.split()) or fallback
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    if len(sentence) <= 200:
        return sentence
    cut = sentence[:199].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def strip_html(text: str) -> str:
    """Plain text from an HTML note: links become ``text (url)``, tags go, entities are decoded."""
    text = re.sub(
        r"<a\s[^>]*href=[\"']([^\"']+)[\"'][^>]*>(.*?)</a>",
        lambda m: m.group(2) if m.group(1) in m.group(2) else f"{m.group(2)} ({m.group(1)})",
        text,
        flags=re.IGNORECASE | re.DOTALL,
    )
    text = re.sub(r"<br\s*/?>|</?p\s*>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", "", text)
    lines = [" ".join(line.split()) for line in html.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line)


def icon_for(entry_id: str, name: str, url: str | None) -> dict[str, Any]:
    """An icon whose offline fallback is the name's initials on a colour derived from the id."""
    words = _WORD.findall(name.lower()) or [entry_id]
    glyph = (words[0][:2] if len(words) == 1 else words[0][0] + words[1][0]).upper()
    color = "#" + hashlib.sha256(entry_id.encode()).hexdigest()[:6]
    icon: dict[str, Any] = {"glyph": glyph, "color": color}
    if url and re.match(r"^https?://\S+$", url.strip()):
        icon["url"] = url.strip()
    return icon


def map_categories(labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """Upstream category labels -> (our categories, leftover tags). Unmatched labels become 'other'."""
    categories: list[str] = []
    tags: list[str] = []
    for label in labels:
        words = _WORD.findall(label.lower())
        tag = "-".join(words)
        if tag and tag not in tags:
            tags.append(tag)
        for word in words:
            for keyword, category in _CATEGORY_KEYWORDS:
                if (
                    word == keyword or (len(keyword) >= 5 and word.startswith(keyword))
                ) and category not in categories:
                    categories.append(category)
    if not categories:
        categories.append("other")
    assert all(category in CATEGORIES for category in categories)
    return categories, tags


def write_entries(result: ImportResult, into: Path, *, overwrite: bool = False) -> list[Path]:
    """Write each converted entry as ``<id>.json`` into ``into``; an existing file is kept unless
    ``overwrite`` (then it is reported as skipped, not silently replaced)."""
    into.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    kept: list[tuple[CatalogEntry, Converted]] = []
    for entry, info in result.entries:
        path = into / f"{entry.id}.json"
        if path.exists() and not overwrite:
            result.skipped.append(Skipped(info.reference, info.name, f"{path} exists (use --overwrite)"))
            continue
        document = entry.model_dump(mode="json", exclude_defaults=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        info.path = str(path)
        written.append(path)
        kept.append((entry, info))
    result.entries = kept
    return written


class Fields:
    """Typed reads of one upstream JSON object. Real catalogs are loose: a field holding the wrong type
    reads as absent, and that is recorded in ``lossy`` (when given) instead of failing the import."""

    def __init__(self, data: dict[str, Any], lossy: list[str] | None = None, where: str = "") -> None:
        self.data = data
        self.lossy = lossy
        self.where = where

    def _wrong(self, key: str, expected: str) -> None:
        if self.lossy is not None:
            value = self.data[key]
            self.lossy.append(
                f"{self.where}{key}: expected {expected}, got {type(value).__name__} {value!r:.60}"
            )

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                self._wrong(key, "text")
            return ""
        if isinstance(value, (str, int, float)):
            return str(value).strip()
        self._wrong(key, "text")
        return ""

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self._wrong(key, "a list")
        return []

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self._wrong(key, "an object")
        return {}

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if value is None:
            return False
        if isinstance(value, (bool, int)):
            return bool(value)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "yes", "1")
        self._wrong(key, "a boolean")
        return False

    def number(self, key: str) -> int | None:
        value = self.data.get(key)
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            return value
        number = whole_number(value) if isinstance(value, str) else None
        if number is not None:
            return number
        self._wrong(key, "a number")
        return None
