"""JupyterLab starts headless on loopback with the project's notebooks (the `make notebooks` command), and
in a real browser the quickstart runs with live widgets: the progress bar ends green and the rack is drawn.
Skips where JupyterLab, Playwright or Debian's Chromium is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "proximity-notebook-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lab_command(port: int, notebook_dir: Path) -> list[str]:
    """The command `make notebooks` runs, on a given port and with a known token."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--notebook-dir={notebook_dir}",
        f"--IdentityProvider.token={TOKEN}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("jupyterlab")
    # a copy: JupyterLab saves what it runs, and the committed notebooks must stay without outputs
    notebook_dir = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebook_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port = _free_port()
    env = {
        **os.environ,
        "PROXIMITY_SIM_TIME_SCALE": "0.01",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "HOME": str(tmp_path),
    }
    log = (tmp_path / "lab.log").open("w")
    process = subprocess.Popen(lab_command(port, notebook_dir), stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.mark.timeout(180)
def test_jupyterlab_serves_the_notebooks_on_loopback(jupyterlab: str) -> None:
    import json

    with urllib.request.urlopen(f"{jupyterlab}/api/contents?token={TOKEN}", timeout=10) as answer:
        names = {item["name"] for item in json.load(answer)["content"]}
    assert {"01-quickstart.ipynb", "02-fleet.ipynb", "03-backups-and-updates.ipynb"} <= names
    with urllib.request.urlopen(f"{jupyterlab}/lab?token={TOKEN}", timeout=10) as answer:
        assert answer.status == 200 and b"JupyterLab" in answer.read()


@pytest.mark.timeout(330)
def test_quickstart_runs_in_a_browser_with_live_widgets(jupyterlab: str, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (make browser)")
    committed = {path.name: path.read_text() for path in (ROOT / "notebooks").glob("*.ipynb")}
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{jupyterlab}/lab/tree/01-quickstart.ipynb?token={TOKEN}", timeout=60_000)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            # the kernel must be connected before "Run All Cells", or the click runs nothing
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            try:
                page.get_by_text("apps left: 0").wait_for(timeout=200_000)
            except playwright.TimeoutError:
                page.screenshot(path=str(tmp_path / "unfinished.png"), full_page=True)
                errors = page.locator(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                )
                pytest.fail(
                    "the notebook did not finish; error outputs:\n" + "\n".join(errors.all_inner_texts())
                )
            # live widgets, drawn by the browser: the deploy bar ended green, the rack shows the app
            assert page.locator(".jp-OutputArea .progress-bar-success").count() >= 1
            unit = page.locator(".px-rack .px-unit[data-app='notify']")
            assert unit.count() == 1 and unit.get_attribute("data-status") == "running"
            assert page.get_by_text("-> 200 'gotify'").count() >= 1
            page.locator(".px-racks").screenshot(path=str(tmp_path / "rack.png"))
            assert (tmp_path / "rack.png").stat().st_size > 1000
        finally:
            browser.close()
    assert {path.name: path.read_text() for path in (ROOT / "notebooks").glob("*.ipynb")} == committed
