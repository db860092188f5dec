"""Reading one catalog document (JSON or YAML) from untrusted files, safely.

YAML is parsed with the safe loader only (no object construction, no code execution). A file is refused
when it is larger than a size limit, and when its parsed tree has more nodes than a budget: YAML aliases
let a small file expand into a huge tree ("billion laughs"), so the size limit alone is not enough.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 50_000
SUFFIXES: tuple[str, ...] = (".json", ".yaml", ".yml")


class DocumentError(ValueError):
    """A file that cannot be read as a catalog document; the message says why, without its content."""


def is_catalog_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def is_yaml(path: Path) -> bool:
    return path.suffix.lower() != ".json"


def read_limited(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, refused (DocumentError) when larger than ``max_bytes`` or unreadable."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise DocumentError(f"file is larger than the {max_bytes // 1024} KiB limit")
    return raw


def read_document(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Parse ``path`` as JSON (``.json``) or YAML (``.yaml``/``.yml``) within the size and node limits."""
    return parse_document(read_limited(path, max_bytes=max_bytes), yaml_syntax=is_yaml(path))


def parse_document(raw: bytes, *, yaml_syntax: bool) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text (byte {exc.start})") from exc
    if yaml_syntax:
        import yaml  # imported with the first YAML file only: catalogs are mostly JSON

        # CSafeLoader is the C build of SafeLoader, the loader of yaml.safe_load: plain data only.
        safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            data = yaml.load(text, Loader=safe_loader)
        except yaml.YAMLError as exc:
            raise DocumentError(f"invalid YAML: {_yaml_problem(exc)}") from exc
        except ValueError as exc:  # int() of a number over Python's 4300-digit limit
            raise DocumentError(f"invalid YAML: {_value_problem(exc)}") from None
        except (AttributeError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
            # PyYAML's constructors fail this way on some malformed tagged values ("!!timestamp x")
            raise DocumentError(f"invalid YAML: a value could not be read ({type(exc).__name__})") from None
        _check_node_budget(data)  # JSON has no aliases: its size limit already bounds its tree
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        except RecursionError:  # "[[[[..." a few KiB long is enough to exhaust Python's stack
            raise DocumentError("invalid JSON: nested too deeply") from None
        except ValueError as exc:  # a number over Python's 4300-digit limit
            raise DocumentError(f"invalid JSON: {_value_problem(exc)}") from None
    return data


def _value_problem(exc: ValueError) -> str:
    text = str(exc)
    return "a number with too many digits" if "digits" in text else text[:200]


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 1} column {mark.column + 1}"
    return str(problem)


def _check_node_budget(data: Any) -> None:
    """Walk the tree (shared sub-trees counted every time they appear) and stop past ``MAX_NODES``."""
    stack = [data]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise DocumentError(f"document expands to more than {MAX_NODES} values (YAML alias bomb?)")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
