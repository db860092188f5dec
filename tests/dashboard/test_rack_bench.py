"""The rack's budget with 1,000 units over 3 hosts (server side; ``python -m bench.bench_dashboard`` adds the
browser's view): the initial document under 0.5 MB and 1 s, one status change under 2 KB on the wire."""

from __future__ import annotations

import pytest

from bench.bench_dashboard import measure_server, measure_status_change, synthetic_units

pytestmark = pytest.mark.timeout(120)


def test_thousand_units_fit_the_budget() -> None:
    units, kinds = synthetic_units(1000, hosts=3, nodes=3)
    assert len(units) == 1000 and len({u["host"] for u in units}) == 3
    server = measure_server(units, kinds, rounds=2)
    assert 100_000 < server["initial_document_bytes"] < 500_000  # the rows are in it, and it fits
    assert server["snapshot_bytes"] < server["initial_document_bytes"]
    assert server["first_render_server_ms_median"] < 1000
    change = measure_status_change(units, kinds)
    assert change["status_change_message_bytes"] < change["status_change_patch_bytes"] < 2048
