"""Loading the catalog from one or more folders of entry files, with provenance, overrides and reloads.

Sources are read in order: the builtin folder first, then each extra folder. A later source overrides an
earlier one entry by entry (same ``id``), and every override is recorded. A bad file never stops the load:
it becomes a :class:`LoadError` naming the file, the field path and the reason, and the good files load.

Reloading is cheap: each file's parse result is cached by (mtime, size), so ``reload_if_changed()`` only
stats the folders when nothing changed and re-parses just the changed files when something did.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from proximity.catalog.files import (
    MAX_FILE_BYTES,
    DocumentError,
    is_catalog_file,
    is_yaml,
    parse_document,
    read_limited,
)
from proximity.catalog.schema import CatalogEntry
from proximity.catalog.search import SearchHit, SearchIndex

if TYPE_CHECKING:
    from proximity.catalog.watch import CatalogWatcher

BUILTIN_SOURCE = "builtin"


def builtin_dir() -> Path:
    from proximity.resources import data_dir

    return data_dir("catalog") / "apps"


@dataclass(frozen=True)
class CatalogSource:
    """A folder of entry files; ``name`` is what provenance and messages call it."""

    name: str
    path: Path


@dataclass(frozen=True)
class Provenance:
    source: str
    path: Path


@dataclass(frozen=True)
class Override:
    """Entry ``id`` from ``winner`` replaced the one from ``replaced``."""

    id: str
    winner: Provenance
    replaced: Provenance


@dataclass(frozen=True)
class LoadError:
    source: str
    path: Path
    location: str  # a dotted field path such as ``install.0.compose.service``, or "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.path.name}: {self.location}: " if self.location else f"{self.path.name}: "
        return f"{where}{self.message}"


@dataclass(frozen=True)
class CatalogChange:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.updated)


@dataclass(frozen=True)
class _FileResult:
    stamp: tuple[int, int]  # (mtime_ns, size)
    entry: CatalogEntry | None
    errors: tuple[LoadError, ...]


@dataclass(frozen=True)
class _Snapshot:
    entries: dict[str, CatalogEntry]
    provenance: dict[str, Provenance]
    overrides: tuple[Override, ...]
    errors: tuple[LoadError, ...]
    index: SearchIndex
    stamps: dict[Path, tuple[int, int]] = field(repr=False)


def load_entry_file(
    path: Path, *, source: str = "file", max_bytes: int = MAX_FILE_BYTES
) -> tuple[CatalogEntry | None, list[LoadError]]:
    """Parse and validate one entry file; the file name (without suffix) must equal the entry's ``id``."""
    try:
        raw = read_limited(path, max_bytes=max_bytes)
        if is_yaml(path):
            data = parse_document(raw, yaml_syntax=True)
            if not isinstance(data, dict):
                message = f"expected a mapping at the top, got {type(data).__name__}"
                return None, [LoadError(source, path, "", message)]
            entry = CatalogEntry.model_validate(data)
        else:  # pydantic parses JSON in Rust and validates in the same pass: the fast path for big catalogs
            entry = CatalogEntry.model_validate_json(raw)
    except DocumentError as exc:
        return None, [LoadError(source, path, "", str(exc))]
    except ValidationError as exc:
        return None, [_validation_error(source, path, err) for err in exc.errors(include_url=False)]
    if entry.id != path.stem:
        message = (
            f"file name {path.name!r} does not match the entry id {entry.id!r} "
            f"(expected {entry.id}{path.suffix})"
        )
        return None, [LoadError(source, path, "id", message)]
    return entry, []


def _validation_error(source: str, path: Path, err: Any) -> LoadError:
    location = ".".join(str(part) for part in err.get("loc", ()))
    message = str(err.get("msg", "invalid"))
    kind = err.get("type")
    if kind == "extra_forbidden":
        message = "unknown field (not part of the catalog schema)"
    elif kind == "json_invalid":
        message = f"invalid JSON: {err.get('ctx', {}).get('error', message)}"
    elif kind == "model_type" and not location:
        message = f"expected a mapping at the top, got {type(err.get('input')).__name__}"
    return LoadError(source, path, location, _shorten(message))


def _shorten(message: str, limit: int = 300) -> str:
    """pydantic quotes the offending input in some messages: keep a huge value from flooding the report."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _as_source(item: CatalogSource | Path | str) -> CatalogSource:
    if isinstance(item, CatalogSource):
        return item
    path = Path(item).expanduser()
    return CatalogSource(name=str(path), path=path)


def _list_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if is_catalog_file(p) and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class Catalog:
    """The loaded catalog: entries by id, their provenance, load errors, overrides, and a search index.

    Reads see one consistent snapshot; a reload swaps the snapshot at once, so a watcher thread can reload
    while other threads search.
    """

    def __init__(self, sources: Sequence[CatalogSource], *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.sources: tuple[CatalogSource, ...] = tuple(sources)
        self._max_bytes = max_bytes
        self._cache: dict[Path, _FileResult] = {}
        self._lock = threading.Lock()
        self._snapshot = self._build()

    # -- reading -------------------------------------------------------------------------------------
    @property
    def entries(self) -> dict[str, CatalogEntry]:
        return dict(self._snapshot.entries)

    @property
    def errors(self) -> tuple[LoadError, ...]:
        return self._snapshot.errors

    @property
    def overrides(self) -> tuple[Override, ...]:
        return self._snapshot.overrides

    @property
    def index(self) -> SearchIndex:
        return self._snapshot.index

    def provenance(self, entry_id: str) -> Provenance:
        return self._snapshot.provenance[entry_id]

    def get(self, entry_id: str) -> CatalogEntry | None:
        return self._snapshot.entries.get(entry_id)

    def __getitem__(self, entry_id: str) -> CatalogEntry:
        return self._snapshot.entries[entry_id]

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._snapshot.entries

    def __iter__(self) -> Iterator[CatalogEntry]:
        snapshot = self._snapshot
        return iter([snapshot.entries[key] for key in sorted(snapshot.entries)])

    def __len__(self) -> int:
        return len(self._snapshot.entries)

    def categories(self) -> dict[str, int]:
        """Category -> number of entries in it."""
        counts: dict[str, int] = {}
        for entry in self._snapshot.entries.values():
            for category in entry.categories:
                counts[category] = counts.get(category, 0) + 1
        return dict(sorted(counts.items()))

    def search(self, query: str = "", **filters: Any) -> list[SearchHit]:
        """Ranked, typo-tolerant search; see :meth:`SearchIndex.search` for the filters."""
        return self._snapshot.index.search(query, **filters)

    # -- reloading -----------------------------------------------------------------------------------
    def changed_on_disk(self) -> bool:
        """True when a file was added, removed or modified since the last (re)load. Only stats files."""
        return self._current_stamps() != self._snapshot.stamps

    def reload_if_changed(self) -> CatalogChange:
        """Re-read what changed on disk (only the changed files are parsed again); say which ids moved."""
        with self._lock:
            if not self.changed_on_disk():
                return CatalogChange()
            old = self._snapshot
            self._snapshot = self._build()
            return _diff(old, self._snapshot)

    def watch(
        self,
        on_change: Callable[[Catalog, CatalogChange], None] | None = None,
        *,
        debounce_ms: int = 200,
        force_polling: bool | None = None,
    ) -> CatalogWatcher:
        """Reload in a background thread whenever a source folder changes; returns the running watcher."""
        from proximity.catalog.watch import CatalogWatcher

        watcher = CatalogWatcher(self, on_change, debounce_ms=debounce_ms, force_polling=force_polling)
        watcher.start()
        return watcher

    def _current_stamps(self) -> dict[Path, tuple[int, int]]:
        stamps: dict[Path, tuple[int, int]] = {}
        for source in self.sources:
            for path in _list_files(source.path):
                stamp = _stamp(path)
                if stamp is not None:
                    stamps[path] = stamp
        return stamps

    def _read(self, source: CatalogSource, path: Path, stamp: tuple[int, int]) -> _FileResult:
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        entry, errors = load_entry_file(path, source=source.name, max_bytes=self._max_bytes)
        result = _FileResult(stamp, entry, tuple(errors))
        self._cache[path] = result
        return result

    def _build(self) -> _Snapshot:
        entries: dict[str, CatalogEntry] = {}
        provenance: dict[str, Provenance] = {}
        overrides: list[Override] = []
        errors: list[LoadError] = []
        stamps: dict[Path, tuple[int, int]] = {}
        for source in self.sources:
            if not source.path.is_dir():
                errors.append(
                    LoadError(source.name, source.path, "", f"catalog folder {source.path} not found")
                )
                continue
            seen_here: dict[str, Path] = {}
            for path in _list_files(source.path):
                stamp = _stamp(path)
                if stamp is None:  # removed between listing and stat
                    continue
                stamps[path] = stamp
                result = self._read(source, path, stamp)
                errors.extend(result.errors)
                entry = result.entry
                if entry is None:
                    continue
                if entry.id in seen_here:
                    message = f"duplicate id {entry.id!r}: already defined by {seen_here[entry.id].name}"
                    errors.append(LoadError(source.name, path, "id", message))
                    continue
                seen_here[entry.id] = path
                here = Provenance(source.name, path)
                if entry.id in provenance:
                    overrides.append(Override(entry.id, winner=here, replaced=provenance[entry.id]))
                entries[entry.id] = entry
                provenance[entry.id] = here
        self._cache = {path: result for path, result in self._cache.items() if path in stamps}
        return _Snapshot(
            entries=entries,
            provenance=provenance,
            overrides=tuple(overrides),
            errors=tuple(errors),
            index=SearchIndex(entries.values()),
            stamps=stamps,
        )


def _diff(old: _Snapshot, new: _Snapshot) -> CatalogChange:
    added = sorted(set(new.entries) - set(old.entries))
    removed = sorted(set(old.entries) - set(new.entries))
    updated = sorted(
        key
        for key in set(old.entries) & set(new.entries)
        if old.entries[key] != new.entries[key] or old.provenance[key] != new.provenance[key]
    )
    return CatalogChange(tuple(added), tuple(removed), tuple(updated))


ENV_CATALOG_DIRS = "PROXIMITY_CATALOG_DIRS"


def configured_dirs() -> list[Path]:
    """The extra catalog folders named by ``$PROXIMITY_CATALOG_DIRS`` (separated by ``os.pathsep``)."""
    raw = os.environ.get(ENV_CATALOG_DIRS, "")
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def default_catalog() -> Catalog:
    """The catalog every front end uses unless given one: the builtin entries, then the configured folders."""
    return load_catalog(configured_dirs())


def load_catalog(
    extra_dirs: Iterable[CatalogSource | Path | str] = (),
    *,
    builtin: bool = True,
    max_bytes: int = MAX_FILE_BYTES,
) -> Catalog:
    """Load the builtin catalog (unless ``builtin=False``) and then each extra folder, later ones winning."""
    sources: list[CatalogSource] = []
    if builtin:
        sources.append(CatalogSource(BUILTIN_SOURCE, builtin_dir()))
    sources.extend(_as_source(item) for item in extra_dirs)
    return Catalog(sources, max_bytes=max_bytes)
