"""``pip wheel .`` ships the simulator's data files, and the simulator loads them from the wheel alone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "proximity" / "sim" / "data"

# Loads every data file through the simulator's own loaders, from wherever ``proximity`` is imported.
LOAD_FROM_WHEEL = """
import sys
sys.path.insert(0, sys.argv[1])
import proximity.sim
assert proximity.sim.__file__.startswith(sys.argv[1]), proximity.sim.__file__
from proximity.sim import registry
from proximity.sim.aplinfo import load_appliances
from proximity.sim.schema import PveSchema
assert PveSchema.load().has("GET", "/cluster/resources")
assert registry.lookup("nginx") is not None
assert load_appliances()
print("loaded from", proximity.sim.__file__)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # With the build backend installed, skip pip's isolated build environment (seconds instead of ten);
    # the wheel is the same, as hatchling builds it from the same pyproject either way.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("proximity-*.whl")
    return built


def test_wheel_ships_every_simulator_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"proximity/sim/data/{path.name}" for path in DATA.iterdir() if path.is_file()}
    assert {
        "proximity/sim/data/pve-schema.json",
        "proximity/sim/data/oci-images.json",
        "proximity/sim/data/aplinfo.json",
    } <= expected
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"


def test_simulator_loads_its_data_from_the_unpacked_wheel(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    done = subprocess.run(
        [sys.executable, "-c", LOAD_FROM_WHEEL, str(unpacked)],
        cwd=tmp_path,  # not the checkout, so the editable install's source tree is not what answers
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert str(unpacked) in done.stdout
