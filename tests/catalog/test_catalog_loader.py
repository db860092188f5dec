"""The loader: precise errors that never stop the good files, precedence, provenance and reloads."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from proximity.catalog.files import MAX_NODES
from proximity.catalog.loader import CatalogSource, load_catalog, load_entry_file


def _messages(catalog) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(error) for error in catalog.errors]


def test_loads_json_and_yaml_files(tmp_path: Path, make_entry, write_file) -> None:
    write_file(tmp_path, make_entry(id="alpha"))
    write_file(tmp_path, make_entry(id="beta", name="Beta"), fmt="yaml")
    catalog = load_catalog([tmp_path], builtin=False)
    assert sorted(catalog.entries) == ["alpha", "beta"]
    assert catalog["beta"].name == "Beta"
    assert catalog.errors == ()
    assert catalog.provenance("beta").path == tmp_path / "beta.yaml"
    assert catalog.provenance("beta").source == str(tmp_path)


def test_bad_files_are_reported_precisely_and_good_ones_still_load(
    tmp_path: Path, make_entry, write_file
) -> None:
    write_file(tmp_path, make_entry(id="good"))
    unknown_field = make_entry(id="typo")
    unknown_field["install"][0]["compose"]["services"]["web"]["image"] = "example/demo:1"
    unknown_field["ports"][0]["webui"] = True
    write_file(tmp_path, unknown_field)
    bad_value = make_entry(id="badvalue")
    bad_value["resources"]["memory_mb"] = 10
    write_file(tmp_path, bad_value)
    write_file(tmp_path, make_entry(id="other"), name="mismatch")
    (tmp_path / "broken.json").write_text('{"id": "broken",', encoding="utf-8")
    (tmp_path / "broken-yaml.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a catalog file", encoding="utf-8")

    catalog = load_catalog([tmp_path], builtin=False)

    assert list(catalog.entries) == ["good"]
    messages = _messages(catalog)
    assert "typo.json: ports.0.webui: unknown field (not part of the catalog schema)" in messages
    assert any(
        m.startswith("badvalue.json: resources.memory_mb: Input should be greater than or equal to 64")
        for m in messages
    )
    assert any(
        m.startswith("mismatch.json: id: file name 'mismatch.json' does not match the entry id 'other'")
        for m in messages
    )
    assert "broken.json: invalid JSON: EOF while parsing a value at line 1 column 16" in messages
    assert any(m.startswith("broken-yaml.yaml: invalid YAML:") and "line" in m for m in messages)
    assert "list.yaml: expected a mapping at the top, got list" in messages
    assert "list.json: expected a mapping at the top, got list" in messages
    assert len(messages) == 7  # notes.txt is not a catalog file


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, make_entry, write_file) -> None:
    doc = make_entry(id="huge", description="x" * 5000)
    write_file(tmp_path, doc)
    catalog = load_catalog([tmp_path], builtin=False, max_bytes=4096)
    assert len(catalog) == 0
    assert _messages(catalog) == ["huge.json: file is larger than the 4 KiB limit"]


def test_yaml_alias_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 leaves
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    entry, errors = load_entry_file(tmp_path / "bomb.yaml")
    assert entry is None
    assert f"more than {MAX_NODES} values" in errors[0].message
    assert time.perf_counter() - started < 2


def test_yaml_is_loaded_safely_without_python_objects(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text(
        "id: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8"
    )
    entry, errors = load_entry_file(tmp_path / "evil.yaml")
    assert entry is None
    assert "invalid YAML" in errors[0].message


def test_duplicate_id_inside_one_source_is_an_error(tmp_path: Path, make_entry, write_file) -> None:
    write_file(tmp_path, make_entry(id="twin"))
    write_file(tmp_path, make_entry(id="twin", name="Other twin"), fmt="yaml")
    catalog = load_catalog([tmp_path], builtin=False)
    assert catalog["twin"].name == "Demo App"  # twin.json sorts first
    assert _messages(catalog) == ["twin.yaml: id: duplicate id 'twin': already defined by twin.json"]


def test_later_sources_override_earlier_ones_and_the_override_is_recorded(
    tmp_path: Path, make_entry, write_file
) -> None:
    community, mine = tmp_path / "community", tmp_path / "mine"
    write_file(community, make_entry(id="shared", name="Community version"))
    write_file(community, make_entry(id="only-community"))
    write_file(mine, make_entry(id="shared", name="My version"))
    catalog = load_catalog(
        [CatalogSource("community", community), CatalogSource("mine", mine)], builtin=False
    )
    assert catalog["shared"].name == "My version"
    assert catalog.provenance("shared").source == "mine"
    assert catalog.provenance("only-community").source == "community"
    (override,) = catalog.overrides
    assert override.id == "shared"
    assert override.winner.source == "mine" and override.replaced.source == "community"
    assert override.replaced.path == community / "shared.json"


def test_extra_dirs_come_after_the_builtin_catalog(tmp_path: Path, make_entry, write_file) -> None:
    builtin = load_catalog()
    assert "jellyfin" in builtin
    write_file(tmp_path, make_entry(id="jellyfin", name="My Jellyfin"))
    catalog = load_catalog([tmp_path])
    assert catalog["jellyfin"].name == "My Jellyfin"
    assert [o.replaced.source for o in catalog.overrides] == ["builtin"]
    assert len(catalog) == len(builtin)


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    catalog = load_catalog([tmp_path / "nope"], builtin=False)
    assert len(catalog) == 0
    assert "catalog folder" in catalog.errors[0].message and "not found" in catalog.errors[0].message


def test_reload_if_changed_sees_additions_edits_and_removals(tmp_path: Path, make_entry, write_file) -> None:
    write_file(tmp_path, make_entry(id="one"))
    write_file(tmp_path, make_entry(id="two"))
    catalog = load_catalog([tmp_path], builtin=False)
    assert not catalog.reload_if_changed()

    write_file(tmp_path, make_entry(id="three"))
    write_file(tmp_path, make_entry(id="one", name="One, renamed"))
    os.utime(tmp_path / "one.json", ns=(1, time.time_ns() + 10**9))  # a distinct mtime even on coarse clocks
    (tmp_path / "two.json").unlink()
    change = catalog.reload_if_changed()

    assert change.added == ("three",) and change.removed == ("two",) and change.updated == ("one",)
    assert catalog["one"].name == "One, renamed"
    assert catalog.search("renamed")[0].entry.id == "one"  # the index is rebuilt too
    assert not catalog.reload_if_changed()


def test_reload_reparses_only_changed_files(tmp_path: Path, make_entry, write_file, monkeypatch) -> None:
    for name in ("a", "b", "c"):
        write_file(tmp_path, make_entry(id=name))
    catalog = load_catalog([tmp_path], builtin=False)
    parsed: list[str] = []
    from proximity.catalog import loader

    real = loader.load_entry_file
    monkeypatch.setattr(
        loader, "load_entry_file", lambda path, **kw: (parsed.append(path.name), real(path, **kw))[1]
    )
    write_file(tmp_path, make_entry(id="b", name="B2"))
    os.utime(tmp_path / "b.json", ns=(1, time.time_ns() + 10**9))
    assert catalog.reload_if_changed().updated == ("b",)
    assert parsed == ["b.json"]


def test_a_file_that_breaks_on_reload_is_reported_and_dropped(tmp_path: Path, make_entry, write_file) -> None:
    write_file(tmp_path, make_entry(id="fragile"))
    catalog = load_catalog([tmp_path], builtin=False)
    (tmp_path / "fragile.json").write_text("{", encoding="utf-8")
    os.utime(tmp_path / "fragile.json", ns=(1, time.time_ns() + 10**9))
    assert catalog.reload_if_changed().removed == ("fragile",)
    assert _messages(catalog)[0].startswith("fragile.json: invalid JSON")


@pytest.mark.timeout(30)
def test_watch_reloads_in_the_background_and_calls_back(tmp_path: Path, make_entry, write_file) -> None:
    write_file(tmp_path, make_entry(id="first"))
    catalog = load_catalog([tmp_path], builtin=False)
    seen: list[tuple[str, ...]] = []
    changed = threading.Event()

    def on_change(cat, change) -> None:  # type: ignore[no-untyped-def]
        seen.append(change.added)
        changed.set()

    with catalog.watch(on_change, debounce_ms=50) as watcher:
        assert watcher.running
        write_file(tmp_path, make_entry(id="second"))
        assert changed.wait(15), "the watcher did not reload"
    assert not watcher.running
    assert ("second",) in seen
    assert "second" in catalog
