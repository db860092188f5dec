"""Every notebook runs top to bottom in a fresh kernel against the simulator, and its outputs say what
really happened (the app's URL answered, the update rolled back, ...). Saved outputs are never trusted:
the committed notebooks must have none, and must match tools/gen_notebooks.py."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01-quickstart.ipynb", "02-fleet.ipynb", "03-backups-and-updates.ipynb", "04-omni-prompt.ipynb"]
URL = r"http://127\.\d+\.\d+\.\d+:\d+/"  # a CT address: 127.81.x.y, or the range its simulator claimed


KERNEL = "proximity-test"


def _register_kernel(jupyter_path: Path) -> None:
    """A kernel spec, in a temporary Jupyter path, that runs this very interpreter (the project's venv)."""
    spec_dir = jupyter_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "proximity test",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def run_notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """Execute a notebook; returns it and all the text it printed (stdout and text/plain results)."""
    jupyter_path = tmp_path / "jupyter"
    _register_kernel(jupyter_path)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("PROXIMITY_SIM_TIME_SCALE", "0.01")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=240,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                texts.append(output["data"]["text/plain"])
    return notebook, "\n".join(texts)


def widget_states(notebook: Any) -> list[dict[str, Any]]:
    """The final state of every widget the run displayed (nbclient stores it in the notebook metadata)."""
    stored = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [model["state"] for model in stored.get("state", {}).values()]


def finished_bars(notebook: Any) -> list[str]:
    """bar_style of every progress bar that reached 100% (success) or stopped (danger) in the run."""
    return [
        state.get("bar_style", "")
        for state in widget_states(notebook)
        if state.get("_model_name") == "FloatProgressModel"
        and state.get("bar_style") in ("success", "danger")
    ]


def rack_html(notebook: Any) -> str:
    return "\n".join(
        str(state.get("value", ""))
        for state in widget_states(notebook)
        if state.get("_model_name") == "HTMLModel" and "class='px-racks'" in str(state.get("value", ""))
    )


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebooks_match_their_generator() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_notebooks
    finally:
        sys.path.pop(0)
    assert sorted(gen_notebooks.SOURCES) == NAMES
    for name in NAMES:
        assert (NOTEBOOKS / name).read_text(encoding="utf-8") == gen_notebooks.render(name), (
            f"{name} differs from tools/gen_notebooks.py: run python tools/gen_notebooks.py"
        )


@pytest.mark.timeout(300)
def test_quickstart_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook, text = run_notebook("01-quickstart.ipynb", tmp_path, monkeypatch)
    assert re.search(r"connected: Proxmox VE \S+, nodes pve1, pve2, pve3", text)
    assert "SSH ok on 3/3 nodes" in text
    assert re.search(r"171 apps in \d+ categories", text)
    assert "gotify" in text.split("apps in", 1)[1]
    assert re.search(r"Deploy Gotify: succeeded at 100%, \d+ steps done \(template, .*health, finish\)", text)
    # the deployed app's URL really answered, then stopped answering while stopped, then answered again
    assert re.search(rf"GET {URL} -> 200 'gotify'", text)
    assert "notify is stopped - answers: False" in text
    assert re.search(rf"notify is running - answers: GET {URL} -> 200 'gotify'", text)
    assert re.search(r"notify on lab/pve\d: running, CPU \d+\.\d%, RAM \d+ MiB, disk \d+\.\d+ GiB", text)
    assert "apps left: 0" in text
    # the widgets as the browser would have drawn them: the deploy bar full and green, the rack with the app
    assert finished_bars(notebook) == ["success"]
    rack = rack_html(notebook)
    assert "data-host='lab'" in rack and "data-app='notify' data-status='running'" in rack
    assert rack.count("class='px-node'") == 3


@pytest.mark.timeout(300)
def test_fleet_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _notebook, text = run_notebook("02-fleet.ipynb", tmp_path, monkeypatch)
    for name in ("alerts", "push", "home", "dbadmin", "links", "monitor", "drop"):
        assert re.search(rf"^{name}\s+running\s+{URL}$", text, re.MULTILINE), name
    # the table: every app with host, node and measured CPU / memory / disk
    rows = re.findall(
        r"^(\w+)\s+[\w-]+\s+(lab|edge)\s+(pve\d)\s+\d+\s+running\s+\d+\.\d%\s+\d+ MiB / \d+ MiB",
        text,
        re.MULTILINE,
    )
    assert {row[0] for row in rows} == {"alerts", "push", "home", "dbadmin", "links", "monitor", "drop"}
    assert {row[1] for row in rows} == {"lab", "edge"}
    assert re.search(r"drawn with: (matplotlib|html)", text)
    assert (
        len(re.findall(r"^(lab|edge)/pve\d\s+cpu .* peak \d+\.\d% \([1-9]\d* samples\)$", text, re.MULTILINE))
        == 5
    )
    # back up everything on the busiest node (lab/pve1 or edge/pve1: two apps each)
    assert re.search(r"backed up 2 of 2 apps on (lab|edge)/pve1", text)
    assert len(re.findall(r"local:backup/vzdump-lxc-\d+-[\d_-]+\.tar\.zst", text)) == 2
    # restart all apps tagged "notifications": gotify and ntfy, both answering afterwards
    assert re.search(rf"restarted alerts \(gotify\): running, GET {URL} -> 200", text)
    assert re.search(rf"restarted push \(ntfy\): running, GET {URL} -> 200", text)
    assert "restarted 2 app(s) tagged 'notifications'" in text
    assert "apps left: 0" in text


@pytest.mark.timeout(300)
def test_backups_and_updates_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _notebook, text = run_notebook("03-backups-and-updates.ipynb", tmp_path, monkeypatch)
    assert re.search(rf"notify running {URL}", text)
    assert re.search(r"backup: local:backup/vzdump-lxc-\d+-\S+\.tar\.zst", text)
    assert "protected: True" in text
    copy = re.search(r"notify-copy: CT (\d+) at (\S+) \(original CT (\d+) at (\S+)\), running", text)
    assert copy and copy.group(1) != copy.group(3) and copy.group(2) != copy.group(4)
    assert re.search(r"Update notify: succeeded at 100%", text)
    assert "update failed:" in text and "not healthy" in text
    assert re.search(r"Update notify \(broken release\): failed", text)
    assert re.search(r"job \S+ update failed", text)
    assert re.search(r"undo-done\s+snapshot", text)
    assert "rolled back" in text
    assert re.search(rf"notify is running - GET {URL} -> 200 'gotify'", text)
    assert "snapshots left behind: []" in text
    assert "apps left: 0 - backups left: 0" in text


def omni_plan_tables(notebook: Any) -> list[str]:
    """The plan tables the notebook displayed (HTML outputs and the chat widget's state)."""
    tables = [
        str(output["data"]["text/html"])
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "data" in output and "text/html" in output["data"]
    ]
    tables += [str(state.get("value", "")) for state in widget_states(notebook)]
    return [table for table in tables if "class='px-omni-plan'" in table]


@pytest.mark.timeout(300)
def test_omni_prompt_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook, text = run_notebook("04-omni-prompt.ipynb", tmp_path, monkeypatch)
    # English: the plan is shown, and nothing has changed, before it runs
    assert "1. [change] Install gotify as notify with 1024 MiB RAM" in text
    assert "risk: change - chosen by the parser (confidence 1.00)" in text
    assert 'calls: apps.deploy(catalog_id="gotify", name="notify", memory_mb=1024)' in text
    assert "apps before running: []" in text
    assert re.search(rf"1\. apps\.deploy: done - notify is running at {URL}", text)
    # Italian, two steps, the pronoun resolved
    assert "language: it" in text
    assert "1. [change] Fai un backup di notify\n2. [change] Riavvia notify" in text
    assert re.search(r"1\. backups\.create: done - backup local:backup/vzdump-lxc-\d+-\S+\.tar\.zst", text)
    assert "2. apps.restart: done - notify is running" in text
    assert "1. apps.list: done - notify (running)" in text
    # destructive: a yes alone is refused and changes nothing; the typed name runs it
    assert "Scrivi 'notify' per confermare." in text
    assert "with confirm=True only: refused - not confirmed" in text
    assert "notify is still running" in text
    assert re.search(r"1\. apps\.delete: done - notify is deleted \(final backup local:backup/\S+\)", text)
    assert "apps left: []" in text
    # undo restores the final backup under the same name, running again
    assert re.search(r"undo: backups\.restore done - notify restored from local:backup/\S+", text)
    assert re.search(r"notify is running again: CT \d+ at 127\.\d+\.\d+\.\d+", text)
    # the chat box planned and ran a stop; the model cell either ranked or said it is not installed
    assert "1. apps.stop: done - notify is stopped" in text
    assert re.search(r"model: (apps\.start\(name=\"notify\"\)\s+0\.\d\d|not installed)", text)
    assert 'parser: apps.start(name="notify")' in text
    assert "apps left: 0" in text
    tables = omni_plan_tables(notebook)
    assert len(tables) >= 2, "the plan table and the chat box's table"
    assert any("data-risk='change'" in table and "apps.stop" in table for table in tables)
