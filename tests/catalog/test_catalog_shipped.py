"""The catalog that ships with Proximity: every entry loads, passes lint, and there are enough of them.

``test_shipped_catalog_is_big_enough`` fails until the content is complete (150 apps, 12 categories).
"""

from __future__ import annotations

import pytest

from proximity.catalog.lint import lint_catalog
from proximity.catalog.loader import load_catalog

MIN_ENTRIES = 150
MIN_CATEGORIES = 12


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_catalog()


def test_every_shipped_file_loads(shipped) -> None:  # type: ignore[no-untyped-def]
    assert [str(error) for error in shipped.errors] == []


def test_shipped_catalog_passes_lint(shipped) -> None:  # type: ignore[no-untyped-def]
    errors = [str(finding) for finding in lint_catalog(shipped) if finding.severity == "error"]
    failing = sorted({line.split(": ")[1] for line in errors})
    assert errors == [], f"{len(failing)} failing entries: {', '.join(failing)}"


def test_shipped_catalog_is_big_enough(shipped) -> None:  # type: ignore[no-untyped-def]
    categories = shipped.categories()
    assert len(shipped) >= MIN_ENTRIES, f"only {len(shipped)} entries"
    assert len(categories) >= MIN_CATEGORIES, f"only {len(categories)} categories: {sorted(categories)}"


def test_shipped_entries_are_not_imports_awaiting_review(shipped) -> None:  # type: ignore[no-untyped-def]
    unreviewed = [
        entry.id for entry in shipped if entry.credentials.policy == "unknown" or entry.version == "unknown"
    ]
    assert unreviewed == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jelyfin", "jellyfin"),
        ("vaultwardn", "vaultwarden"),
        ("nextclod", "nextcloud"),
        ("immich", "immich"),
        ("home asistant", "home-assistant"),
        ("paperles", "paperless-ngx"),
    ],
)
def test_typos_find_the_shipped_app_first(shipped, query: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    if expected not in shipped:
        pytest.skip(f"{expected} is not in the shipped catalog (yet)")
    assert shipped.search(query)[0].entry.id == expected
