"""``px.catalog``: list, get and search the app catalog (the catalog package knows nothing of Proxmox)."""

from __future__ import annotations

from proximity.catalog.loader import Catalog
from proximity.catalog.schema import CatalogEntry
from proximity.catalog.search import SearchHit
from proximity.errors import NotFound


class CatalogCollection:
    """Synchronous on both clients: the catalog is local data."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog

    def list(self, category: str | None = None) -> list[CatalogEntry]:
        """Every catalog entry by id, optionally only those in ``category``."""
        entries = sorted(self._catalog, key=lambda e: e.id)
        return [e for e in entries if category is None or category in e.categories]

    def get(self, catalog_id: str) -> CatalogEntry:
        """The entry ``catalog_id`` (``NotFound`` if the catalog has none)."""
        entry = self._catalog.get(catalog_id)
        if entry is None:
            raise NotFound(f"no app {catalog_id!r} in the catalog")
        return entry

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """The best ``limit`` entries for a free-text query (names, summaries, tags, categories)."""
        return self._catalog.search(query)[:limit]

    def categories(self) -> dict[str, int]:
        """Every category with its number of entries."""
        return self._catalog.categories()

    def __len__(self) -> int:
        return len(self._catalog)
