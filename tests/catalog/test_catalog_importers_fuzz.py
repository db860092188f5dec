"""Importers on messy input: whatever the shape of a template or app document, each one is converted
into a valid entry or skipped with a reason; nothing raises and nothing disappears."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proximity.catalog.importers.common import IdAllocator
from proximity.catalog.importers.helper_scripts import convert_document
from proximity.catalog.importers.portainer import convert_template
from proximity.catalog.schema import CatalogEntry

FIXTURES = Path(__file__).resolve().parent / "fixtures"
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(["80/tcp", "8080:80", ":443/udp", "/data", "/a:/b:ro", "latest", "Debian"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(sorted(base))
    return st.dictionaries(keys, values, max_size=4).map(lambda changes: {**base, **changes})


PORTAINER_BASE = json.loads((FIXTURES / "portainer" / "v2.json").read_text())["templates"][0]
HELPER_BASE = json.loads((FIXTURES / "helper-scripts" / "quirky.json").read_text())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations(PORTAINER_BASE))
def test_any_portainer_template_converts_or_is_skipped(template: dict[str, Any]) -> None:
    outcome = convert_template(template, "fuzz#0", IdAllocator())
    if isinstance(outcome, tuple):
        entry, _ = outcome
        CatalogEntry.model_validate(entry.model_dump(mode="json"))
    else:
        assert outcome.reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations(HELPER_BASE))
def test_any_helper_scripts_document_converts_or_is_skipped(document: dict[str, Any]) -> None:
    outcome = convert_document(document, "fuzz.json", {13: "Media & Streaming"}, IdAllocator())
    if isinstance(outcome, tuple):
        entry, _ = outcome
        CatalogEntry.model_validate(entry.model_dump(mode="json"))
    else:
        assert outcome.reason
