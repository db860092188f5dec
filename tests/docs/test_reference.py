"""docs/reference/ is generated from the code (tools/gen_reference.py): the committed pages must be what the
generator writes now, every public SDK method must have a docstring, and every link inside a page must
land on an anchor of that page."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
REGENERATE = "run: python tools/gen_reference.py"


@pytest.fixture(scope="module")
def generator() -> Iterator[ModuleType]:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_reference
    finally:
        sys.path.pop(0)
    yield gen_reference


@pytest.fixture(scope="module")
def rendered(generator: ModuleType) -> tuple[dict[str, str], list[str]]:
    return generator.render()


def test_every_public_sdk_method_has_a_docstring(rendered: tuple[dict[str, str], list[str]]) -> None:
    _pages, undocumented = rendered
    assert not undocumented, (
        "public SDK names without a docstring (write a short, accurate one in the SDK, then "
        f"{REGENERATE}):\n  " + "\n  ".join(undocumented)
    )


@pytest.mark.parametrize("name", ["sdk.md", "cli.md", "catalog-schema.md"])
def test_committed_reference_is_up_to_date(rendered: tuple[dict[str, str], list[str]], name: str) -> None:
    pages, _undocumented = rendered
    path = REFERENCE / name
    assert path.is_file(), f"docs/reference/{name} is missing; {REGENERATE}"
    committed = path.read_text(encoding="utf-8")
    if committed != pages[name]:
        differing = next(
            (
                index
                for index, (old, new) in enumerate(zip(committed.splitlines(), pages[name].splitlines()), 1)
                if old != new
            ),
            min(len(committed.splitlines()), len(pages[name].splitlines())) + 1,
        )
        pytest.fail(
            f"docs/reference/{name} is stale (first difference at line {differing}); {REGENERATE}",
            pytrace=False,
        )


@pytest.mark.parametrize("name", ["sdk.md", "cli.md", "catalog-schema.md"])
def test_links_land_on_anchors(rendered: tuple[dict[str, str], list[str]], name: str) -> None:
    text = rendered[0][name]
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links, "a reference page without links"
    assert not links - anchors, f"links without an anchor in {name}: {sorted(links - anchors)}"


def test_the_reference_covers_the_api(rendered: tuple[dict[str, str], list[str]]) -> None:
    pages, _undocumented = rendered
    sdk, cli, schema = pages["sdk.md"], pages["cli.md"], pages["catalog-schema.md"]
    for heading in (
        "### `Proximity`",
        "### `AsyncProximity`",
        "### `px.apps`",
        "### `App`",
        "### `Settings`",
    ):
        assert heading in sdk
    assert "async def deploy(catalog_id: str, *, name: str | None = None" in sdk
    assert "| `memory_mb` | `int` |" in sdk  # a model's field with its type
    assert "  - [`TLSVerificationFailed`](#tlsverificationfailed)" in sdk  # nested in the errors tree
    assert "$ proximity apps deploy [OPTIONS] CATALOG_ID" in cli
    assert "| `--env-stdin` | text (repeatable) |" in cli
    assert "## `CatalogEntry`" in schema and "| `port` | `int` | required | >= 1, <= 65535 |" in schema


def test_a_missing_docstring_is_reported(generator: ModuleType) -> None:
    class Sample:
        """A class with one documented and one bare method."""

        async def documented(self) -> None:
            """Here."""

        def bare(self, name: str, *, force: bool = False) -> int:
            return 0

    Sample.__module__ = "proximity.sample"  # members() only reads the project's classes
    page = generator.SdkPage()
    generator.write_class(page, Sample)
    assert page.undocumented == ["proximity.sample.test_a_missing_docstring_is_reported.<locals>.Sample.bare"]
    text = "\n".join(page.lines)
    assert "async def documented() -> None" in text
    assert "def bare(name: str, *, force: bool = False) -> int" in text
