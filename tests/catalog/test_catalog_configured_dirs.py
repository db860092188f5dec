"""``PROXIMITY_CATALOG_DIRS`` reaches every front end: the SDK's default catalog and the CLI's deploy."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.catalog.loader import builtin_dir, configured_dirs, default_catalog
from proximity.cli import main

ENTRY_ID = "gotify"


def _override(folder: Path) -> Path:
    """A copy of the builtin gotify entry under a new name and summary, in ``folder``."""
    entry = json.loads((builtin_dir() / f"{ENTRY_ID}.json").read_text(encoding="utf-8"))
    entry.update(id="my-gotify", name="My Gotify", summary="Gotify from my own catalog folder.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my-gotify.json").write_text(json.dumps(entry), encoding="utf-8")
    return folder


def test_configured_dirs_split_on_pathsep(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(
        "PROXIMITY_CATALOG_DIRS", os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b")])
    )
    assert configured_dirs() == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.delenv("PROXIMITY_CATALOG_DIRS")
    assert configured_dirs() == []


def test_the_default_catalog_and_the_cli_read_the_configured_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine = _override(tmp_path / "my-apps")
    monkeypatch.delenv("PROXIMITY_CATALOG_DIRS", raising=False)
    assert default_catalog().get("my-gotify") is None
    monkeypatch.setenv("PROXIMITY_CATALOG_DIRS", str(mine))
    assert default_catalog().get("my-gotify") is not None
    shown = CliRunner().invoke(main, ["catalog", "show", "my-gotify", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["name"] == "My Gotify"


def test_cli_deploy_uses_an_entry_from_a_configured_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, simulator: object
) -> None:
    from proximity import Proximity
    from tests.sdk.conftest import add_lab

    home = tmp_path / "state"
    with Proximity(home) as px:
        add_lab(px, simulator)
    monkeypatch.setenv("PROXIMITY_CATALOG_DIRS", str(_override(tmp_path / "my-apps")))
    runner = CliRunner()
    deployed = runner.invoke(main, ["apps", "deploy", "my-gotify", "--name", "mine", "--db", str(home), "-q"])
    assert deployed.exit_code == 0, deployed.output
    with Proximity(home) as px:
        app = px.apps.get("mine")
        assert app.catalog_id == "my-gotify"
        px.apps.delete("mine", confirm=True, purge=True)
