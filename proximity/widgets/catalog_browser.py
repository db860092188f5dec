"""A catalog browser: a search box and a category filter over ``px.catalog``, a list of matches and the
chosen entry's card. ``on_pick(callback)`` hands the chosen ``CatalogEntry`` on (to a ``DeployForm``)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from proximity.catalog.schema import CatalogEntry

ALL = "(all categories)"
RESULTS_SHOWN = 30


def entry_card(entry: CatalogEntry) -> str:
    """An entry as a small HTML card: name, summary, methods, ports, sizes and its typed inputs."""
    color = html.escape(entry.icon.color)
    methods = ", ".join(m.type for m in entry.install)
    ports = ", ".join(f"{p.port}/{p.protocol}" for p in entry.ports) or "none"
    inputs = "".join(
        f"<li><code>{html.escape(e.name)}</code> ({html.escape(e.type)}"
        f"{', required' if e.required else ''}{', generated' if e.generate else ''}): {html.escape(e.label)}</li>"
        for e in entry.env
    )
    r = entry.resources
    return (
        "<div style='border:1px solid #ccc;border-radius:6px;padding:8px;max-width:560px'>"
        f"<div style='display:flex;gap:8px;align-items:center'><span style='background:{color};color:#fff;"
        "border-radius:6px;padding:6px 8px;font-weight:bold'>"
        f"{html.escape(entry.icon.glyph)}</span><b>{html.escape(entry.name)}</b> {html.escape(entry.version)}"
        f" <code>{html.escape(entry.id)}</code></div>"
        f"<p>{html.escape(entry.summary)}</p>"
        f"<div>categories: {html.escape(', '.join(entry.categories))} · install: {html.escape(methods)}"
        f" · ports: {html.escape(ports)}</div>"
        f"<div>recommended: {r.cores} cores, {r.memory_mb} MiB, {r.disk_gb} GiB</div>"
        f"<ul>{inputs}</ul></div>"
    )


class CatalogBrowser:
    """``CatalogBrowser(px)``: type to search (``px.catalog.search``), filter by category, pick an app."""

    def __init__(self, px: Any, query: str = "", category: str | None = None):
        import ipywidgets as widgets

        self._catalog = px.catalog
        self._callbacks: list[Callable[[CatalogEntry], None]] = []
        categories = sorted(self._catalog.categories())
        self.search_box = widgets.Text(value=query, placeholder="search: notifications, media, wiki...")
        self.category = widgets.Dropdown(options=[ALL, *categories], value=category or ALL)
        self.matches = widgets.Select(options=[], rows=10)
        self.card = widgets.HTML()
        self.count = widgets.HTML()
        self.search_box.observe(lambda _change: self._refresh(), names="value")
        self.category.observe(lambda _change: self._refresh(), names="value")
        self.matches.observe(lambda _change: self._show(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.search_box, self.category]),
                self.count,
                widgets.HBox([self.matches, self.card]),
            ]
        )
        self._refresh()

    def results(self) -> list[CatalogEntry]:
        """The entries matching the current query and category, best match first."""
        query = self.search_box.value.strip()
        category = None if self.category.value == ALL else self.category.value
        if query:
            entries = [hit.entry for hit in self._catalog.search(query, limit=len(self._catalog))]
            return [e for e in entries if category is None or category in e.categories]
        return list(self._catalog.list(category))

    def search(self, query: str, category: str | None = None) -> list[CatalogEntry]:
        """Set the query (and category) as a person would type them; returns the results."""
        self.category.value = category or ALL
        self.search_box.value = query
        return self.results()

    @property
    def selected(self) -> CatalogEntry | None:
        chosen = self.matches.value
        return self._catalog.get(chosen) if chosen else None

    def pick(self, catalog_id: str) -> CatalogEntry:
        entry: CatalogEntry = self._catalog.get(catalog_id)
        if catalog_id not in [value for _label, value in self.matches.options]:
            self.search(catalog_id)
        self.matches.value = catalog_id
        return entry

    def on_pick(self, callback: Callable[[CatalogEntry], None]) -> None:
        self._callbacks.append(callback)

    def _refresh(self) -> None:
        found = self.results()
        shown = found[:RESULTS_SHOWN]
        self.count.value = f"{len(found)} app(s)" + (
            f", first {RESULTS_SHOWN} shown" if len(found) > RESULTS_SHOWN else ""
        )
        self.matches.options = [(f"{e.name} — {e.summary[:50]}", e.id) for e in shown]
        self.matches.value = shown[0].id if shown else None

    def _show(self) -> None:
        entry = self.selected
        self.card.value = entry_card(entry) if entry else ""
        if entry is not None:
            for callback in self._callbacks:
                callback(entry)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
