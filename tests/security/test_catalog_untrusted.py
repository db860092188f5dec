"""Catalog entries and import files are untrusted data: no code runs on load, sizes are limited (the
boundary tested to the byte), alias bombs and deep nesting are bounded, and a huge import file is read in
bounded time and memory."""

from __future__ import annotations

import json
import secrets
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from proximity.catalog.files import MAX_FILE_BYTES, MAX_NODES
from proximity.catalog.importers import ImportSourceError
from proximity.catalog.importers.helper_scripts import MAX_FILE_BYTES as HELPER_MAX_BYTES
from proximity.catalog.importers.helper_scripts import import_helper_scripts
from proximity.catalog.importers.portainer import MAX_TEMPLATES_BYTES, import_portainer
from proximity.catalog.loader import load_entry_file
from tests.security.helpers import Figures, gotify_entry

pytestmark = pytest.mark.timeout(120)

CODE_TAGS = [
    "!!python/object/apply:os.system [{command!r}]",
    "!!python/object/apply:subprocess.check_call [[sh, -c, {command!r}]]",
    "!!python/object/new:os.system [{command!r}]",
    "!!python/name:os.system",
    "!!python/module:os",
    "id: !!python/object/apply:os.system [{command!r}]",
    "a: &a !!python/object/apply:os.system [{command!r}]\nb: *a",
]


def _measured(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MiB allocated by Python while it ran)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, peak


@pytest.mark.parametrize("template", CODE_TAGS, ids=range(len(CODE_TAGS)))
def test_python_tags_are_refused_and_run_nothing(tmp_path: Path, template: str, figures: Figures) -> None:
    canary = tmp_path / f"pwned-{secrets.token_hex(4)}"
    document = template.format(command=f"touch {canary}")
    (tmp_path / "gotify.yaml").write_text(document)
    entry, errors = load_entry_file(tmp_path / "gotify.yaml")
    assert entry is None and len(errors) == 1
    assert (
        "could not determine a constructor for the tag" in errors[0].message
        and "python/" in errors[0].message
    )
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "docker-compose.yml").write_text(document)  # a Portainer stack file is parsed the same way
    templates = {
        "version": "2",
        "templates": [
            {"type": 3, "title": "s", "repository": {"url": "https://x/y", "stackfile": "docker-compose.yml"}}
        ],
    }
    (tmp_path / "templates.json").write_text(json.dumps(templates))
    result = import_portainer(tmp_path / "templates.json", stacks_dir=stacks)
    assert result.entries == [] and "could not determine a constructor" in result.skipped[0].reason
    assert not canary.exists()
    figures.add("untrusted: code-running YAML tags refused (catalog entry and stack file)", 2)


def _entry_of_size(size: int) -> bytes:
    entry = gotify_entry()
    entry["description"] = ""
    empty = len(json.dumps(entry).encode())
    entry["description"] = "x" * (size - empty)
    raw = json.dumps(entry).encode()
    assert len(raw) == size
    return raw


def test_entry_size_limit_boundary_to_the_byte(tmp_path: Path, figures: Figures) -> None:
    path = tmp_path / "gotify.json"
    path.write_bytes(_entry_of_size(MAX_FILE_BYTES))
    entry, errors = load_entry_file(path)
    assert entry is not None and errors == []
    path.write_bytes(_entry_of_size(MAX_FILE_BYTES + 1))
    entry, errors = load_entry_file(path)
    assert entry is None and [e.message for e in errors] == ["file is larger than the 256 KiB limit"]
    yaml_path = tmp_path / "gotify.yaml"
    yaml_path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert load_entry_file(yaml_path)[1][0].message == "file is larger than the 256 KiB limit"
    figures.add("untrusted: size-limit boundary cases", 3)


def _alias_bomb(levels: int, fan_out: int) -> bytes:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * fan_out) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fan_out) + "]")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("levels", "fan_out"), [(9, 9), (12, 10), (30, 2)])
def test_alias_bombs_are_refused_in_bounded_time_and_memory(
    tmp_path: Path, levels: int, fan_out: int, figures: Figures
) -> None:
    """9 levels of 9 aliases is 387 million values once expanded; the walk stops at MAX_NODES."""
    path = tmp_path / "gotify.yaml"
    path.write_bytes(_alias_bomb(levels, fan_out))
    (entry, errors), seconds, peak_mib = _measured(lambda: load_entry_file(path))
    assert entry is None and f"more than {MAX_NODES} values" in errors[0].message
    assert seconds < 2.0 and peak_mib < 20, (seconds, peak_mib)
    figures.add("untrusted: alias bombs refused", 1)


def test_deeply_nested_documents_are_refused_not_crashing(tmp_path: Path, figures: Figures) -> None:
    documents = {
        "gotify.json": b"[" * 200_000,
        "gotify.yaml": b"[" * 200_000,
    }
    for name, raw in documents.items():
        (tmp_path / name).write_bytes(raw)
        entry, errors = load_entry_file(tmp_path / name)
        assert entry is None and errors and "larger than" not in errors[0].message
    helper = tmp_path / "deep.json"
    helper.write_bytes(b'{"slug": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    result = import_helper_scripts(helper)
    assert result.entries == [] and "nested too deeply" in result.skipped[0].reason
    templates = tmp_path / "templates.json"
    templates.write_bytes(b"[" * 100_000)
    with pytest.raises(ImportSourceError, match="nested too deeply"):
        import_portainer(templates)
    figures.add("untrusted: deeply nested documents refused", 4)


def test_huge_import_files_are_bounded_in_time_and_memory(tmp_path: Path, figures: Figures) -> None:
    """Just under the importers' 16 MiB limit: read and converted within bounds; one byte over: refused
    before parsing. 8,000 templates with the same long title also check that choosing unique ids stays
    linear (it was quadratic: 32 s for 8,000 such templates, 1.5 s now, measured without tracemalloc)."""
    filler = {"type": 1, "title": "x" * 900, "image": "nginx:1", "description": "y" * 900}
    count = 8000
    document = {"version": "2", "templates": [filler] * count}
    raw = json.dumps(document).encode()
    assert len(raw) < MAX_TEMPLATES_BYTES
    raw += b" " * (MAX_TEMPLATES_BYTES - len(raw))
    path = tmp_path / "templates.json"
    path.write_bytes(raw)
    result, seconds, peak_mib = _measured(lambda: import_portainer(path))
    assert len(result.entries) == count and len({entry.id for entry, _ in result.entries}) == count
    assert seconds < 60 and peak_mib < 400, (seconds, peak_mib)
    path.write_bytes(raw + b" ")
    (error, over_seconds, _) = _measured(lambda: pytest.raises(ImportSourceError, import_portainer, path))
    assert "larger than the 16384 KiB limit" in str(error.value) and over_seconds < 5

    helper = tmp_path / "ct-index.json"
    app = {"slug": "a", "type": "ct", "install_methods": [], "name": "n" * 900, "description": "d" * 900}
    index = json.dumps({f"app{i}": dict(app, slug=f"app{i}") for i in range(8000)}).encode()
    assert len(index) < HELPER_MAX_BYTES
    helper.write_bytes(index)
    converted, helper_seconds, helper_peak = _measured(lambda: import_helper_scripts(helper))
    assert len(converted.entries) + len(converted.skipped) == 8000
    assert helper_seconds < 60 and helper_peak < 400, (helper_seconds, helper_peak)
    print(
        f"portainer {len(raw) / 2**20:.1f} MiB: {seconds:.1f} s, peak {peak_mib:.0f} MiB; "
        f"helper-scripts {len(index) / 2**20:.1f} MiB: {helper_seconds:.1f} s, peak {helper_peak:.0f} MiB"
    )
    figures.add("untrusted: huge import files read within bounds", 2)
