"""Import files are untrusted: whatever a Helper-Scripts folder/index or a Portainer templates file
holds, an import gives a result (entries, skips with reasons) or one ``ImportSourceError`` naming the
file, never another exception; what it converts is a valid entry, written and loaded back as such.

tests/catalog/test_catalog_importers_fuzz.py mutates one document's fields and calls the converters;
this module feeds whole files (and folders, and metadata.json) to the importers' entry points.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proximity.catalog.importers import ImportResult, ImportSourceError, write_entries
from proximity.catalog.importers.helper_scripts import import_helper_scripts
from proximity.catalog.importers.portainer import import_portainer
from proximity.catalog.loader import load_catalog
from tests.security.helpers import Figures

FIXTURES = Path(__file__).resolve().parent.parent / "catalog" / "fixtures"
FUZZ = settings(
    max_examples=100,
    deadline=None,  # bounded by the sizes drawn; the machine is shared, so no per-example deadline
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # the same examples every run: the published figures reproduce exactly
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "1" * 5000,
            "\x00",
            "../../etc/passwd",
            "/",
            "80/tcp",
            "8080:80/udp",
            "a:b:c:d",
            "${X}",
            "$(id)",
            "<script>alert(1)</script>",
            "ct",
            "vm",
            "pve",
            "addon",
            "debian",
            "alpine",
            "latest",
            "\u202e",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)
HELPER_KEYS = [
    "name",
    "slug",
    "type",
    "categories",
    "updateable",
    "privileged",
    "interface_port",
    "documentation",
    "website",
    "logo",
    "config_path",
    "description",
    "install_methods",
    "default_credentials",
    "notes",
    "disable",
    "disable_description",
]
PORTAINER_KEYS = [
    "type",
    "title",
    "description",
    "image",
    "ports",
    "volumes",
    "env",
    "categories",
    "logo",
    "platform",
    "name",
    "note",
    "labels",
    "repository",
    "restart_policy",
    "command",
    "privileged",
    "network",
    "hostname",
]


def _documents(keys: list[str], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    shaped = st.dictionaries(st.sampled_from(keys), values, max_size=len(keys)).map(lambda d: {**base, **d})
    return st.one_of(shaped, values)


HELPER_BASE = json.loads((FIXTURES / "helper-scripts" / "quirky.json").read_text())
PORTAINER_BASE = json.loads((FIXTURES / "portainer" / "v2.json").read_text())["templates"][0]


def _check_result(result: ImportResult, into: Path) -> None:
    for skipped in result.skipped:
        assert skipped.reason
    written = write_entries(result, into, overwrite=True)
    catalog = load_catalog([into], builtin=False)
    assert not catalog.errors, catalog.errors
    assert {path.stem for path in written} <= set(catalog.entries)


@FUZZ
@given(
    layout=st.sampled_from(["one document", "index object", "index list"]),
    documents=st.lists(_documents(HELPER_KEYS, HELPER_BASE), min_size=1, max_size=4),
    metadata=st.one_of(st.none(), values, st.builds(lambda c: {"categories": c}, values)),
)
def test_helper_scripts_files_import_or_fail_with_a_source_error(
    tmp_path_factory: Any, figures: Figures, layout: str, documents: list[Any], metadata: Any
) -> None:
    folder = tmp_path_factory.mktemp("helper")
    if layout == "one document":
        (folder / "app.json").write_text(json.dumps(documents[0]))
    elif layout == "index object":
        (folder / "ct-index.json").write_text(json.dumps({f"k{i}": d for i, d in enumerate(documents)}))
    else:
        (folder / "ct-index.json").write_text(json.dumps(documents))
    if metadata is not None:
        (folder / "metadata.json").write_text(json.dumps(metadata))
    try:
        result = import_helper_scripts(folder)
    except ImportSourceError as error:
        assert "metadata.json" in str(error)
    else:
        _check_result(result, folder / "out")
    figures.add("fuzz: importer files (Helper-Scripts)", 1)


@FUZZ
@given(
    version=st.sampled_from(["1", "2", "3", None]),
    templates=st.lists(_documents(PORTAINER_KEYS, PORTAINER_BASE), max_size=4),
    top=st.one_of(st.none(), values),
)
def test_portainer_files_import_or_fail_with_a_source_error(
    tmp_path_factory: Any, figures: Figures, version: str | None, templates: list[Any], top: Any
) -> None:
    folder = tmp_path_factory.mktemp("portainer")
    if top is not None:
        document: Any = top
    elif version is None:
        document = templates
    else:
        document = {"version": version, "templates": templates}
    path = folder / "templates.json"
    path.write_text(json.dumps(document))
    try:
        result = import_portainer(path)
    except ImportSourceError as error:
        assert "templates.json" in str(error)
    else:
        _check_result(result, folder / "out")
    figures.add("fuzz: importer files (Portainer)", 1)


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_raw_bytes_as_import_files(tmp_path_factory: Any, figures: Figures, raw: bytes) -> None:
    folder = tmp_path_factory.mktemp("raw")
    (folder / "ct-index.json").write_bytes(raw)
    result = import_helper_scripts(folder)
    assert result.entries == [] and (result.skipped or result.ignored_files)
    try:
        import_portainer(folder / "ct-index.json")
    except ImportSourceError:
        pass
    figures.add("fuzz: importer files (raw bytes, both importers)", 1)
