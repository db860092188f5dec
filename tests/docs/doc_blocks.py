"""Fenced code blocks of a Markdown page, with the line they start on, and what the doc tests do with them.

The convention (docs written for tasks E1/E2; tests/docs/test_doc_examples.py runs it):

| fence | what the tests do |
| --- | --- |
| ```` ```python ```` | executed: a page's blocks run in order in one namespace (cwd a fresh temporary directory, ``PROXIMITY_HOME`` a fresh state directory); a block with top-level ``await`` runs in its own event loop |
| ```` ```python no-run ```` | compiled only (placeholders for a real host) |
| ```` ```console test ```` | each ``$ proximity ...`` line runs through the CLI and must exit 0; other lines are expected output, not compared |
| ```` ```yaml catalog ```` | a whole catalog entry, validated and linted like a file in ``catalog/apps/`` |
| anything else | shown only |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    info: str  # the fence's info string, e.g. "python", "python no-run", "console test"
    line: int  # 1-based line of the block's first code line in the page
    code: str

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.info.split())

    @property
    def kind(self) -> str:
        """run, compile, cli, catalog or show."""
        words = self.words
        if words[:1] == ("python",):
            return "compile" if "no-run" in words[1:] else "run"
        if words == ("console", "test"):
            return "cli"
        if words == ("yaml", "catalog"):
            return "catalog"
        return "show"


def blocks(text: str) -> list[Block]:
    """Every fenced block of a page. A fence indented in a list item has that indentation removed from its
    lines; an unclosed fence runs to the end of the page (as CommonMark renders it)."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body: list[str] = []
        start = index + 2  # 1-based number of the first code line
        index += 1
        while index < len(lines):
            closing = FENCE.match(lines[index])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        found.append(Block(info, start, "\n".join(body) + "\n"))
        index += 1
    return found


def cli_commands(block: Block) -> list[tuple[int, str]]:
    """(page line, command line after ``$ proximity ``) for every command of a ``console test`` block."""
    commands = []
    for offset, line in enumerate(block.code.splitlines()):
        stripped = line.strip()
        if stripped.startswith("$ proximity ") or stripped == "$ proximity":
            commands.append((block.line + offset, stripped[len("$ proximity") :].strip()))
    return commands


def doc_pages(root: Path) -> list[Path]:
    """The pages whose examples are tested: docs/*.md (docs/reference/ is generated) and README.md."""
    return sorted((root / "docs").glob("*.md")) + [root / "README.md"]
