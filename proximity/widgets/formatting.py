"""Small number formatters shared by the tables and the rack (one place for units)."""

from __future__ import annotations


def percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction * 100:.1f}%"


def mib(value: float | None) -> str:
    return "–" if value is None else f"{value / 2**20:.0f} MiB"


def gib(value: float | None) -> str:
    return "–" if value is None else f"{value / 2**30:.1f} GiB"


def ratio(part: float | None, whole: float | None) -> float | None:
    """part/whole clamped to 0..1, or None when either is unknown or whole is zero."""
    if part is None or not whole:
        return None
    return max(0.0, min(float(part) / float(whole), 1.0))
