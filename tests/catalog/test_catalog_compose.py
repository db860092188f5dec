"""Reading Compose ports, mounts, environment and ${VARIABLES}, short and long syntax."""

from __future__ import annotations

import pytest

from proximity.catalog.compose import (
    ComposeFormatError,
    parse_mount,
    parse_port,
    service_environment,
    variable_references,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [(80, None, "tcp")]),
        (80, [(80, None, "tcp")]),
        ("8080:80", [(80, 8080, "tcp")]),
        ("127.0.0.1:8080:80/udp", [(80, 8080, "udp")]),
        ("[::1]:8443:443", [(443, 8443, "tcp")]),
        ("6881-6882:6881-6882/udp", [(6881, 6881, "udp"), (6882, 6882, "udp")]),
        (":80/tcp", [(80, None, "tcp")]),
        ({"target": 80, "published": "8080", "protocol": "tcp"}, [(80, 8080, "tcp")]),
        ({"target": 53, "protocol": "udp"}, [(53, None, "udp")]),
    ],
)
def test_ports(spec, expected) -> None:  # type: ignore[no-untyped-def]
    assert [(m.target, m.published, m.protocol) for m in parse_port(spec)] == expected


def test_variable_published_port() -> None:
    (mapping,) = parse_port("${WEB_PORT:-8080}:80")
    assert mapping.published is None and mapping.published_is_variable and mapping.target == 80


@pytest.mark.parametrize(
    "spec", ["http", "80/tcp/x", "0:80", "1:2:3:4", "70000", True, "80/icmp", {"published": 1}]
)
def test_bad_ports(spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ComposeFormatError):
        parse_port(spec)


def test_mounts() -> None:
    assert parse_mount("/srv/a:/a:ro").kind == "bind" and parse_mount("/srv/a:/a:ro").read_only
    assert parse_mount("./conf:/conf").kind == "bind"
    named = parse_mount("data:/var/lib/data")
    assert (named.kind, named.source, named.target) == ("volume", "data", "/var/lib/data")
    assert parse_mount("/just/a/path").kind == "anonymous"
    long = parse_mount({"type": "bind", "source": "/x", "target": "/y", "read_only": True})
    assert (long.kind, long.source, long.read_only) == ("bind", "/x", True)
    assert parse_mount({"type": "tmpfs", "target": "/tmp"}).kind == "tmpfs"
    with pytest.raises(ComposeFormatError):
        parse_mount({"type": "npipe", "target": "/y"})


def test_environment_as_list_or_mapping() -> None:
    assert service_environment({"environment": ["A=1", "B", "C=x=y"]}) == {"A": "1", "B": None, "C": "x=y"}
    assert service_environment({"environment": {"A": 1, "B": None}}) == {"A": "1", "B": None}
    assert service_environment({}) == {}


def test_variable_references() -> None:
    found = list(variable_references({"x": ["${A}", "$B and $$C", "${D:-x}", "${E-x}", "${F:?need}"]}))
    assert sorted((r.name, r.has_default) for r in found) == [
        ("A", False),
        ("B", False),
        ("D", True),
        ("E", True),
        ("F", False),
    ]
