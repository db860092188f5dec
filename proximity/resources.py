"""Where the data that ships with Proximity lives (catalog, prompts, dashboards, simulator data).

In a source checkout (or an editable install) the folders sit beside the package; in a wheel they are
copied under ``proximity/_data/`` (see ``[tool.hatch.build.targets.wheel.force-include]``).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``catalog``, ``prompts``, ``dashboards``) shipped with Proximity."""
    installed = PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"Proximity data folder {name!r} not found (looked in {installed} and {checkout})"
    )
