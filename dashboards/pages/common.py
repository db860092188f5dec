"""Small HTML builders shared by the pages (everything user-provided is escaped)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from proximity.models import App

GIB = 1024**3


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def led(status: str, testid: str = "") -> str:
    attribute = f' data-testid="{esc(testid)}"' if testid else ""
    return f'<span class="px-led {esc(status)}" data-status="{esc(status)}"{attribute}></span>'


def link(url: str | None, text: str | None = None) -> str:
    if not url:
        return ""
    return f'<a href="{esc(url)}" target="_blank" rel="noopener">{esc(text or url)}</a>'


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], testid: str = "", raw: bool = True) -> str:
    """Rows are HTML already (built with ``esc``) when ``raw``; otherwise every cell is escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else esc(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(headers)}"><i>nothing yet</i></td></tr>'
    attribute = f' data-testid="{esc(testid)}"' if testid else ""
    return f'<table class="px-table"{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def app_link(app: App) -> str:
    return f'<a href="?page=app&app={esc(app.name)}">{esc(app.name)}</a>'


def gib(value: int) -> str:
    return f"{value / GIB:.1f}"


def html_pane(obj: str = "", **options: Any) -> Any:
    """An HTML pane carrying the deck's CSS (panes live in shadow roots, out of reach of page-wide CSS)."""
    import panel as pn

    from dashboards.theme import DECK_CSS

    return pn.pane.HTML(obj, stylesheets=[DECK_CSS], **options)
