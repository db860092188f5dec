"""The code in the docs runs: every page of docs/*.md (not docs/reference/, which is generated) and README.md,
under the convention in tests/docs/doc_blocks.py. One test per page, each with its own temporary working
directory and ``PROXIMITY_HOME``, and a time limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.doc_blocks import blocks, doc_pages
from tests.docs.doc_runner import DocExampleFailed, run_page

ROOT = Path(__file__).resolve().parents[2]
PAGE_TIMEOUT_S = 180
PAGES = doc_pages(ROOT)


@pytest.mark.timeout(PAGE_TIMEOUT_S)
@pytest.mark.parametrize("page", PAGES, ids=[page.relative_to(ROOT).as_posix() for page in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PROXIMITY_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PROXIMITY_SIM_TIME_SCALE", "0.01")
    failure = None
    try:
        run_page(page, ROOT)
    except DocExampleFailed as error:
        failure = str(error)
    if failure:  # outside the except: the page, the block, the line and the error say it all
        pytest.fail(failure, pytrace=False)


def test_pages_are_found() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/sdk.md", "docs/simulator.md", "docs/omni-prompt.md"} <= names
    assert not any(name.startswith("docs/reference/") for name in names)
    assert any(block.kind == "run" for page in PAGES for block in blocks(page.read_text(encoding="utf-8")))
