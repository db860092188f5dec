"""A served dashboard on the simulator (``proximity dashboard --demo`` in a child process) and a Chromium
driven by Playwright. Browser tests skip cleanly where Chromium or Playwright is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PROXIMITY_CHROMIUM", "/usr/bin/chromium")
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS_ENV = "PROXIMITY_SCREENSHOTS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Chromium through Playwright (needs /usr/bin/chromium)"
    )


@dataclass
class Served:
    url: str
    home: Path
    admin_password: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)  # the server's output so far, for failure reports

    def output_tail(self, lines: int = 40) -> str:
        return "".join(self.output[-lines:])


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_dashboard(home: Path, *options: str) -> Iterator[Served]:
    """Run ``proximity dashboard --db HOME OPTIONS`` on a free port until the caller is done; yields it once
    it listens (with the first admin's password, when it created one)."""
    command = [sys.executable, "-c", "from proximity.cli import main; main()", "dashboard"]
    command += ["--port", str(_free_port()), "--db", str(home), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    password, url, lines = "", "", []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline and not url:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if found := re.search(r"created user 'admin' with password: (\S+)", line):
            password = found.group(1)
        if found := re.search(r"Proximity dashboard: (https?://\S+)", line):
            url = found.group(1)
    if not url:
        process.kill()
        pytest.fail("the dashboard did not start:\n" + "".join(lines))
    # keep reading the server's output so a full pipe can never block it; kept for failure reports
    threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True).start()
    try:
        yield Served(url, home, password, process, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_dashboard(tmp_path_factory.mktemp("dash-home"), "--demo", "--time-scale", "0.02")


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where the browser tests write their screenshots: ``docs/screenshots/`` only when
    ``PROXIMITY_SCREENSHOTS=1`` (refreshing the committed images is a choice), else a temporary directory,
    so the screenshot code path still runs in every test run without touching the tree."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread while it
# is open, and every later test that calls asyncio.run() or anyio.run() would then fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
