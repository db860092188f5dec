"""The package ships what it needs at run time, and the console command starts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner

from proximity import __version__
from proximity.cli import main
from proximity.resources import data_dir

ROOT = Path(__file__).resolve().parent.parent


def test_data_dirs_are_found() -> None:
    assert (data_dir("catalog") / "apps" / "jellyfin.json").is_file()
    assert data_dir("prompts").is_dir()


def test_cli_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Proxmox" in result.output


def test_wheel_ships_catalog_prompts_and_dashboards(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("proximity-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "proximity/_data/catalog/apps/jellyfin.json" in names
    assert any(name.startswith("proximity/_data/prompts/") for name in names)
    assert "dashboards/__init__.py" in names
    assert "proximity/cli/__init__.py" in names
