"""``proximity catalog ...`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def catalog_dir(tmp_path: Path, make_entry, write_file) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "apps"
    write_file(folder, make_entry(id="notes-app", name="Notes App", categories=["documents"], tags=["notes"]))
    write_file(
        folder, make_entry(id="vaultwarden", name="Vaultwarden", categories=["security"], tags=["passwords"])
    )
    return folder


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_list_json(catalog_dir: Path) -> None:
    result = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "list", "--json")
    assert result.exit_code == 0
    entries = json.loads(result.output)
    assert [e["id"] for e in entries] == ["notes-app", "vaultwarden"]
    assert entries[0]["install"][0]["type"] == "compose"


def test_list_table_and_category_filter(catalog_dir: Path) -> None:
    result = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "list", "--category", "security")
    assert result.exit_code == 0
    assert "vaultwarden" in result.output and "notes-app" not in result.output
    assert "1 entries" in result.output


def test_builtin_list_json_prints_the_shipped_entries() -> None:
    result = run("catalog", "list", "--json")
    assert result.exit_code == 0
    assert "jellyfin" in [e["id"] for e in json.loads(result.output)]


def test_show(catalog_dir: Path) -> None:
    result = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "show", "vaultwarden")
    assert result.exit_code == 0
    assert "Vaultwarden (vaultwarden) 1.2.3" in result.output and str(catalog_dir) in result.output
    as_json = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "show", "vaultwarden", "--json")
    assert json.loads(as_json.output)["name"] == "Vaultwarden"


def test_show_unknown_suggests(catalog_dir: Path) -> None:
    result = CliRunner().invoke(
        main, ["catalog", "--no-builtin", "--dir", str(catalog_dir), "show", "vaultwardn"]
    )
    assert result.exit_code == 1
    assert "no catalog entry 'vaultwardn'" in result.output and "Did you mean: vaultwarden" in result.output


def test_search_with_typo_and_filters(catalog_dir: Path) -> None:
    result = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "search", "vaultwardn", "--json")
    assert json.loads(result.output)[0]["id"] == "vaultwarden"
    filtered = run(
        "catalog",
        "--no-builtin",
        "--dir",
        str(catalog_dir),
        "search",
        "",
        "--requires",
        "gpu=false",
        "--category",
        "documents",
        "--json",
    )
    assert [hit["id"] for hit in json.loads(filtered.output)] == ["notes-app"]
    bad = CliRunner().invoke(
        main, ["catalog", "--no-builtin", "--dir", str(catalog_dir), "search", "x", "--requires", "warp=true"]
    )
    assert bad.exit_code == 2 and "unknown requirement" in bad.output


def test_lint_exit_codes(tmp_path: Path, catalog_dir: Path, make_entry, write_file) -> None:  # type: ignore[no-untyped-def]
    ok = run("catalog", "lint", str(catalog_dir))
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.output
    weak = make_entry(id="weak", healthcheck=None)
    path = write_file(tmp_path / "weak", weak)
    failed = CliRunner().invoke(main, ["catalog", "lint", "--json", str(path)])
    assert failed.exit_code == 1
    report = json.loads(failed.output)
    assert report["errors"] == 1 and report["findings"][0]["rule"] == "no-healthcheck"


def test_lint_the_loaded_catalog(catalog_dir: Path) -> None:
    result = run("catalog", "--no-builtin", "--dir", str(catalog_dir), "lint")
    assert result.exit_code == 0 and "failing entries: none" in result.output


def test_import_helper_scripts(tmp_path: Path) -> None:
    into = tmp_path / "imported"
    report_path = tmp_path / "report.json"
    result = run(
        "catalog",
        "import",
        "--from",
        "helper-scripts",
        str(FIXTURES / "helper-scripts"),
        "--into",
        str(into),
        "--report",
        str(report_path),
    )
    assert result.exit_code == 0, result.output
    assert "2 converted, 5 skipped" in result.output
    assert "skipped router-vm.json (Router): a virtual machine script" in result.output
    assert sorted(p.name for p in into.iterdir()) == ["bare.json", "quirky.json"]
    report = json.loads(report_path.read_text())
    assert report["counts"] == {"converted": 2, "skipped": 5}
    listed = run("catalog", "--no-builtin", "--dir", str(into), "list", "--json")
    assert [e["id"] for e in json.loads(listed.output)] == ["bare", "quirky"]


def test_import_portainer_json_report(tmp_path: Path) -> None:
    result = run(
        "catalog",
        "import",
        "--from",
        "portainer",
        str(FIXTURES / "portainer" / "v2.json"),
        "--into",
        str(tmp_path),
        "--stacks-dir",
        str(FIXTURES / "portainer" / "stacks"),
        "--json",
    )
    report = json.loads(result.output)
    assert sorted(c["id"] for c in report["converted"]) == ["notes", "notes-2", "wiki"]
    assert all(Path(c["path"]).is_file() for c in report["converted"])


def test_import_refuses_a_wrong_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "catalog",
            "import",
            "--from",
            "portainer",
            str(FIXTURES / "helper-scripts" / "metadata.json"),
            "--into",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1 and "neither a v1" in result.output


def test_schema_validates_a_shipped_entry() -> None:
    import jsonschema

    schema = json.loads(run("catalog", "schema").output)
    entry = json.loads(run("catalog", "show", "jellyfin", "--json").output)
    jsonschema.validate(entry, schema)
    entry["colour"] = "red"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, schema)
