"""Lint: every rule fires on a fixture made to fail it, and stays quiet on a good entry."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from proximity.catalog.lint import RULES, Finding, is_password_like, lint_entry, lint_paths
from proximity.catalog.schema import CatalogEntry


def findings_for(doc: dict[str, Any]) -> list[Finding]:
    return lint_entry(CatalogEntry.model_validate(doc))


def rules_of(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(finding.rule, finding.severity) for finding in findings_for(doc)}


def web(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["install"][0]["compose"]["services"]["web"]


def test_the_good_entry_has_no_findings(make_entry) -> None:  # type: ignore[no-untyped-def]
    assert findings_for(make_entry()) == []


@pytest.mark.parametrize(
    ("image", "rule"),
    [
        ("example/demo:latest", "image-tag-latest"),
        ("example/demo", "image-tag-missing"),
        ("registry.example.org:5000/demo", "image-tag-missing"),
        ("example/demo:${TAG}", "image-tag-variable"),
    ],
)
def test_unpinned_images(make_entry, image: str, rule: str) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["image"] = image
    assert (rule, RULES[rule][0]) in rules_of(doc)


def test_pinned_images_pass(make_entry) -> None:  # type: ignore[no-untyped-def]
    for image in ("registry.example.org:5000/demo:2.0", "example/demo@sha256:" + "a" * 64):
        doc = make_entry()
        web(doc)["image"] = image
        assert not {r for r, _ in rules_of(doc) if r.startswith("image-")}


def test_oci_images_are_checked_too(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    doc["install"].append(
        {"type": "oci", "image": "example/demo:latest", "env": {"DB_PASSWORD": "${DB_PASSWORD}"}}
    )
    messages = [f.message for f in findings_for(doc) if f.rule == "image-tag-latest"]
    assert messages == ["oci install: image 'example/demo:latest' uses the 'latest' tag"]


def test_no_healthcheck_is_an_error_with_ports_and_a_warning_without(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry(healthcheck=None)
    assert ("no-healthcheck", "error") in rules_of(doc)
    headless = make_entry(healthcheck=None, ports=[])
    web(headless).pop("ports")
    assert ("no-healthcheck", "warning") in rules_of(headless)


def test_upstream_default_credentials_are_a_shared_password(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry(credentials={"policy": "upstream-default", "username": "admin"})
    assert ("shared-default-password", "error") in rules_of(doc)


def test_literal_password_in_compose_environment(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    doc["install"][0]["compose"]["services"]["db"]["environment"] = ["POSTGRES_PASSWORD=changeme"]
    found = [f for f in findings_for(doc) if f.rule == "shared-default-password"]
    assert len(found) == 1 and "POSTGRES_PASSWORD" in found[0].message and "changeme" not in found[0].message


def test_literal_secret_in_oci_env_and_in_an_input_default(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    doc["install"].append({"type": "oci", "image": "example/demo:1.2.3", "env": {"APP_SECRET_KEY": "abc123"}})
    doc["env"].append({"name": "ADMIN_TOKEN", "label": "Admin token", "default": "letmein"})
    messages = [f.message for f in findings_for(doc) if f.rule == "shared-default-password"]
    assert any("APP_SECRET_KEY" in m for m in messages)
    assert any("ADMIN_TOKEN" in m for m in messages)


def test_password_settings_that_are_not_passwords_pass(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["environment"].update(
        {"PASSWORD_MIN_LENGTH": "12", "DISABLE_PASSWORD_LOGIN": "true", "DB_PASSWORD_FILE": "/run/secrets/db"}
    )
    assert "shared-default-password" not in {rule for rule, _ in rules_of(doc)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DB_PASSWORD", True),
        ("API_KEY", True),
        ("JWT_SECRET", True),
        ("ADMIN_TOKEN", True),
        ("SECRET_KEY_BASE", True),
        ("PUID", False),
        ("DB_PASSWORD_FILE", False),
        ("TOKEN_TTL", False),
        ("KEYBOARD", False),
        ("PASSWORD_MIN_LENGTH", False),
    ],
)
def test_password_like_names(name: str, expected: bool) -> None:
    assert is_password_like(name) is expected


def test_stateful_without_volumes(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry(volumes=[])
    web(doc)["volumes"] = []
    doc["install"][0]["compose"]["services"]["db"]["volumes"] = []
    assert ("stateful-without-volumes", "error") in rules_of(doc)
    doc["stateless"] = True
    assert "stateful-without-volumes" not in {rule for rule, _ in rules_of(doc)}


def test_compose_volumes_not_covered_by_declared_volumes(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["volumes"] += ["/srv/uploads:/uploads", "./config:/config", "cache:/cache", "/tmp-anon"]
    findings = findings_for(doc)
    undeclared = [f.message for f in findings if f.rule == "compose-volume-undeclared"]
    assert len(undeclared) == 3
    assert any("/srv/uploads" in m for m in undeclared)
    assert any("./config" in m for m in undeclared)
    assert any("named volume 'cache'" in m for m in undeclared)
    assert [f.rule for f in findings if f.severity == "warning"] == ["compose-anonymous-volume"]


def test_relative_binds_and_user_mounts_can_be_covered(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["volumes"] += ["./config:/config", "/media/library:/library:ro"]
    doc["volumes"].append({"name": "config", "path": "/opt/proximity/demoapp/config"})
    doc["requirements"]["mounts"] = [{"name": "media", "path": "/media"}]
    assert findings_for(doc) == []


def test_compose_ports_must_be_declared_and_declared_ports_published(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["ports"] = ["8080:8080", "9090:9090/udp"]
    doc["ports"].append({"name": "metrics", "port": 9100})
    findings = findings_for(doc)
    assert [f.message for f in findings if f.rule == "compose-port-undeclared"] == [
        "compose service 'web': publishes 9090/udp, which 'ports' does not declare"
    ]
    assert [f.message for f in findings if f.rule == "port-not-published"] == [
        "port 'metrics' (9100/tcp) is not published by the Compose document"
    ]


def test_compose_ports_on_random_host_ports(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["ports"] = ["8080:8080", "9000", "${PORT}:9001"]
    messages = [f.message for f in findings_for(doc) if f.rule == "compose-port-unpinned"]
    assert len(messages) == 2 and "random" in messages[0] and "variable" in messages[1]


def test_missing_web_ui_is_a_warning(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    doc["ports"][0]["web_ui"] = False
    assert rules_of(doc) == {("no-web-ui", "warning")}


def test_a_secret_referenced_but_not_declared(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["environment"]["SMTP_PASSWORD"] = "${SMTP_PASSWORD}"
    web(doc)["environment"]["LOG_LEVEL"] = "${LOG_LEVEL:-info}"  # a default: compose works without it
    web(doc)["command"] = "serve --price $$5"  # an escaped dollar, not a variable
    messages = [f.message for f in findings_for(doc) if f.rule == "undeclared-input"]
    assert messages == ["the install refers to the secret ${SMTP_PASSWORD}, not an env input"]


def test_an_input_nothing_uses(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    doc["env"].append({"name": "UNUSED", "label": "Unused"})
    assert rules_of(doc) == {("unused-input", "warning")}


def test_update_method_needs_the_matching_install(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry(update={"method": "oci-replace"})
    assert ("update-method-mismatch", "error") in rules_of(doc)


def test_unknown_credentials_are_a_warning(make_entry) -> None:  # type: ignore[no-untyped-def]
    assert rules_of(make_entry(credentials={"policy": "unknown"})) == {("credentials-unknown", "warning")}


def test_lint_paths_reports_files_that_do_not_load(tmp_path: Path, make_entry, write_file) -> None:  # type: ignore[no-untyped-def]
    write_file(tmp_path, make_entry(id="fine"))
    bad = copy.deepcopy(make_entry(id="bad"))
    bad["colour"] = "red"
    write_file(tmp_path, bad)
    findings = lint_paths([tmp_path])
    assert [(f.rule, f.entry) for f in findings] == [("invalid-entry", "bad")]
    assert "colour: unknown field" in findings[0].message


def test_every_rule_is_documented() -> None:
    for rule, (severity, reason) in RULES.items():
        assert severity in ("error", "warning") and reason, rule


def test_read_only_host_information_is_not_data(make_entry) -> None:  # type: ignore[no-untyped-def]
    doc = make_entry()
    web(doc)["volumes"] += ["/etc/os-release:/host/etc/os-release:ro", "/proc:/host/proc:ro"]
    assert findings_for(doc) == []
    web(doc)["volumes"].append("/etc/app:/etc/app")  # written by the app: data
    assert [f.rule for f in findings_for(doc)] == ["compose-volume-undeclared"]
