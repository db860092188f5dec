"""Run one page's examples (the convention is in doc_blocks.py). A failure raises ``DocExampleFailed`` naming
the page, the block's first line and the line that failed, with the error.

Python blocks are compiled with the page's own line numbers (the code is padded with blank lines), so a
traceback points into the Markdown file. When the page is done, whatever it left open in its namespace is
closed: ``Proximity`` clients first, then ``Simulator``s (an ``AsyncProximity`` only has its database closed:
its event loop is gone; use ``async with`` in async examples).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import shlex
import tempfile
import traceback
from pathlib import Path
from typing import Any

import yaml

from tests.docs.doc_blocks import Block, blocks, cli_commands

TRACE_FRAMES = 4  # of the traceback shown under a failure: where in the SDK it went wrong
SHELL_SYNTAX = {"|", "||", "&&", ";", "<", ">", ">>", "2>", "&"}


class DocExampleFailed(AssertionError):
    """An example in the docs did not run as written."""


def run_page(page: Path, root: Path) -> None:
    """Run every block of ``page`` in order (cwd and ``PROXIMITY_HOME`` are the caller's business)."""
    name = page.relative_to(root).as_posix()
    text = page.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "__doc_example__"}
    try:
        for block in blocks(text):
            try:
                run_block(block, name, namespace)
            except (DocExampleFailed, KeyboardInterrupt):
                raise
            except BaseException as error:
                raise DocExampleFailed(describe(name, text, block, error)) from error
    finally:
        close_leftovers(namespace)


def run_block(block: Block, name: str, namespace: dict[str, Any]) -> None:
    if block.kind in ("run", "compile"):
        code = compile_block(block, name)
        if block.kind == "compile":
            return
        if code.co_flags & inspect.CO_COROUTINE:  # top-level await: its own event loop
            asyncio.run(eval(code, namespace))
        else:
            exec(code, namespace)  # noqa: S102 - the docs' own example
    elif block.kind == "cli":
        run_cli(block, name)
    elif block.kind == "catalog":
        check_catalog_entry(block, name)


def compile_block(block: Block, name: str) -> Any:
    padded = "\n" * (block.line - 1) + block.code
    return compile(padded, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def run_cli(block: Block, name: str) -> None:
    from click.testing import CliRunner

    from proximity.cli import main

    commands = cli_commands(block)
    if not commands:
        raise DocExampleFailed(
            f"{name}: block at line {block.line} is `console test` but has no `$ proximity` line"
        )
    for line, command in commands:
        args = shlex.split(command, comments=True)
        shell = SHELL_SYNTAX.intersection(args)
        if shell:
            raise DocExampleFailed(
                f"{name}:{line}: `$ proximity {command}` uses shell syntax ({', '.join(sorted(shell))}); "
                "a `console test` line runs the CLI alone: mark the block `console` instead"
            )
        result = CliRunner().invoke(main, args, catch_exceptions=True)
        if result.exit_code != 0:
            detail = result.output.strip()
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                detail += "\n" + "".join(traceback.format_exception(result.exception)[-3:])
            raise DocExampleFailed(
                f"{name}:{line}: `$ proximity {command}` exited {result.exit_code}:\n{detail}".rstrip()
            )


def check_catalog_entry(block: Block, name: str) -> None:
    from proximity.catalog.lint import has_errors, lint_paths

    try:
        data = yaml.safe_load(block.code)
    except yaml.YAMLError as error:
        raise DocExampleFailed(
            f"{name}: block at line {block.line} (yaml catalog) is not YAML: {error}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise DocExampleFailed(f"{name}: block at line {block.line} (yaml catalog) has no `id:` at the top")
    with tempfile.TemporaryDirectory(prefix="doc-catalog-") as folder:
        path = Path(folder) / f"{data['id']}.yaml"  # the loader wants the file named after the id
        path.write_text(block.code, encoding="utf-8")
        findings = lint_paths([path])
    if has_errors(findings):
        listed = "\n".join(f"  {finding}" for finding in findings)
        raise DocExampleFailed(
            f"{name}: catalog entry at line {block.line} does not pass the lint:\n{listed}"
        )


def describe(name: str, text: str, block: Block, error: BaseException) -> str:
    """``page: block at line N (python) failed at line M: <the line>`` plus the error."""
    lines = text.splitlines()
    where = None
    if isinstance(error, SyntaxError) and error.filename == name:
        where = error.lineno
    else:
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == name]
        if frames:
            where = frames[-1].lineno
    message = f"{name}: block at line {block.line} ({block.info or 'no info'}) failed"
    if where and 0 < where <= len(lines):
        message += f" at line {where}: {lines[where - 1].strip()}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    tail = "".join(traceback.format_list(frames[-TRACE_FRAMES:])) if where else ""
    return f"{message}\n{type(error).__name__}: {error}" + (f"\n\nlast frames:\n{tail}" if tail else "")


def close_leftovers(namespace: dict[str, Any]) -> None:
    from proximity.client import AsyncProximity, Proximity
    from proximity.sim import Simulator

    values = list(namespace.values())
    for value in values:
        if isinstance(value, Proximity):
            value.close()
        elif isinstance(value, AsyncProximity):
            value.store.close()
    for value in values:
        if isinstance(value, Simulator):
            value.stop()
