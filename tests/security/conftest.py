"""Fixtures for the hostile-input and secrets/TLS tests (shared code is in ``helpers.py``), and the
"security figures" block printed at the end of a run: the counts docs/reliability.md publishes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.helpers import FIGURES, Figures


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    for name in sorted(FIGURES):
        terminalreporter.write_line(f"{name}: {FIGURES[name]}")


@pytest.fixture(scope="module")
def module_sim() -> Iterator[Any]:
    from proximity.sim import Simulator

    with Simulator(nodes=2, time_scale=0.01) as sim:
        yield sim
