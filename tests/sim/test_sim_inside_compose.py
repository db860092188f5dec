"""Compose documents as Docker Compose reads them: .env files, interpolation, ports, services."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proximity.sim.inside_compose import ComposeError, PortBinding, interpolate, load_project, parse_dotenv


def expand(text: str, **env: str) -> str:
    return interpolate(text, env, "services.x.environment.Y", [])


def test_interpolation_forms() -> None:
    assert expand("${A}", A="1") == "1"
    assert expand("$A-$B", A="1", B="2") == "1-2"
    assert expand("${A:-d}", A="") == "d"
    assert expand("${A-d}", A="") == ""  # "-" only replaces an unset variable
    assert expand("${A-d}") == "d"
    assert expand("${A:+alt}", A="x") == "alt"
    assert expand("${A:+alt}", A="") == ""
    assert expand("${A+alt}", A="") == "alt"
    assert expand("${A:-${B:-deep}}") == "deep"
    assert expand("$$A and $${A}", A="no") == "$A and ${A}"
    with pytest.raises(ComposeError, match="required variable A is missing a value: give A"):
        expand("${A:?give A}", A="")
    with pytest.raises(ComposeError, match="invalid interpolation format"):
        expand("cost: $ 5")


def test_unset_variable_warns_once_and_is_blank() -> None:
    warnings: list[str] = []
    assert interpolate("${X}/${X}", {}, "where", warnings) == "/"
    assert warnings == ['The "X" variable is not set. Defaulting to a blank string.']


def test_dotenv_parsing() -> None:
    text = (
        "# comment\n\nA=1\nexport B=two words\nC='single $kept # not a comment'\n"
        'D="line\\nbreak"\nE=value # trailing comment\nF=\n'
    )
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "two words",
        "C": "single $kept # not a comment",
        "D": "line\nbreak",
        "E": "value",
        "F": "",
    }
    with pytest.raises(ComposeError):
        parse_dotenv("not a variable line\n")


def test_ports_short_and_long_syntax() -> None:
    document = """
services:
  web:
    image: nginx
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443/tcp"
      - "5353:53/udp"
      - "9000-9001:9000-9001"
      - "3000"
      - target: 81
        published: "8081"
        protocol: tcp
"""
    spec = load_project(document, env={}, project_name=None, default_project_name="Site")
    service = spec.services["web"]
    assert service.ports == (
        PortBinding(8080, 80),
        PortBinding(8443, 443, "tcp", "127.0.0.1"),
        PortBinding(5353, 53, "udp"),
        PortBinding(9000, 9000),
        PortBinding(9001, 9001),
        PortBinding(8081, 81),
    )
    assert service.unpublished_ports == 1
    assert spec.project == "site" and service.container_name == "site-web-1"
    with pytest.raises(ComposeError, match="invalid port"):
        load_project(
            "services:\n  w:\n    image: x\n    ports: ['80:90:100:1']\n",
            env={},
            project_name=None,
            default_project_name="p",
        )


def test_services_environment_volumes_and_order() -> None:
    document = """
name: stack
services:
  app:
    image: ghcr.io/example/app:${TAG:-1.0}
    depends_on: {db: {condition: service_healthy}}
    environment: [A=1, "B=${B}", C]
    volumes: [data:/data, {type: bind, source: /srv, target: /srv}]
  db:
    image: postgres:17
    environment: {POSTGRES_PASSWORD: "${DB_PASSWORD:?set it}", FLAG: true, N: 5}
volumes:
  data:
"""
    spec = load_project(
        document, env={"DB_PASSWORD": "pw", "B": "b"}, project_name=None, default_project_name="x"
    )
    assert spec.project == "stack" and spec.start_order() == ["db", "app"]
    assert spec.start_order(["app"]) == ["db", "app"] and spec.start_order(["db"]) == ["db"]
    assert spec.services["app"].image == "ghcr.io/example/app:1.0"
    assert spec.services["app"].environment == {"A": "1", "B": "b", "C": ""}
    assert spec.services["app"].volumes == ("data:/data", "/srv:/srv")
    assert spec.services["db"].environment == {"POSTGRES_PASSWORD": "pw", "FLAG": "true", "N": "5"}
    assert spec.named_volumes == ("data",)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("- a list\n", "Top-level object must be a mapping"),
        ("services: {}\n", "services must be a mapping"),
        ("services:\n  a: {build: .}\n", "building images is not simulated"),
        ("services:\n  a: {}\n", "has neither an image nor a build context"),
        (
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: y, depends_on: [a]}\n",
            "dependency cycle",
        ),
    ],
)
def test_invalid_documents(document: str, message: str) -> None:
    with pytest.raises(ComposeError, match=message):
        load_project(document, env={}, project_name="p", default_project_name="p").start_order()


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert expand(text) == text
