"""Importers: hand-made quirk fixtures (always run) and the real samples in ../shared (skipped when
absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proximity.catalog.importers import ImportSourceError, write_entries
from proximity.catalog.importers.common import IdAllocator, map_categories, strip_html, summary_from
from proximity.catalog.importers.helper_scripts import import_helper_scripts
from proximity.catalog.importers.portainer import convert_template, import_portainer
from proximity.catalog.lint import lint_entry
from proximity.catalog.loader import load_catalog
from proximity.catalog.schema import ScriptInstall

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HELPER = FIXTURES / "helper-scripts"
PORTAINER = FIXTURES / "portainer"


def by_id(result):  # type: ignore[no-untyped-def]
    return {entry.id: (entry, info) for entry, info in result.entries}


def skip_reasons(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {skip.name: skip.reason for skip in result.skipped}


# -- Helper-Scripts ------------------------------------------------------------------------------------


def test_helper_scripts_converts_containers_and_skips_the_rest_with_reasons() -> None:
    result = import_helper_scripts(HELPER)
    assert sorted(by_id(result)) == ["bare", "quirky"]
    reasons = skip_reasons(result)
    assert "virtual machine" in reasons["Router"]
    assert "host tool" in reasons["PVE Tool"]
    assert "add-on" in reasons["Some Addon"]
    assert reasons["Broken App"] == "disabled upstream: Install fails since the 2.0 release."
    assert "supported OS" in reasons["BSD Thing"]
    assert result.ignored_files == ["unrelated.json: not a Helper-Scripts app document"]


def test_helper_scripts_quirks() -> None:
    entry, info = by_id(import_helper_scripts(HELPER))["quirky"]
    debian, alpine = entry.install
    assert isinstance(debian, ScriptInstall) and isinstance(alpine, ScriptInstall)
    assert (debian.os, debian.os_version) == ("debian", "12")  # upstream wrote "Debian"
    assert (alpine.os, alpine.os_version) == ("alpine", "3.21")
    upstream_texts = {"Be careful with the thing.", "Port 8989 serves the UI.", "A tip with an odd type."}
    assert [(n.level, n.text) for n in entry.notes if n.text in upstream_texts] == [
        ("warning", "Be careful with the thing."),  # "warn"
        ("info", "Port 8989 serves the UI."),  # "Info"
        ("info", "A tip with an odd type."),
    ]
    assert "notes[2].type 'tip': shown as info" in info.lossy
    assert entry.categories == ["media", "downloads"]  # 13 Media & Streaming, 14 *Arr Suite
    assert "category 99: not in metadata.json, mapped to 'other'" in info.lossy
    assert [v.path for v in entry.volumes] == ["/etc/quirky/quirky.ini", "/etc/quirky.ini"]
    assert entry.requirements.privileged
    assert (entry.resources.cores, entry.resources.memory_mb, entry.resources.disk_gb) == (2, 2048, 8)
    assert any("alpine 3.21 variant needs 1 core(s), 512 MB" in n.text for n in entry.notes)
    assert entry.credentials.policy == "upstream-default" and entry.credentials.username == "admin"
    assert "quirky123" in entry.credentials.note  # kept for the user, and lint flags the entry
    assert entry.web_port is not None and entry.web_port.port == 8989
    assert entry.healthcheck is not None and entry.healthcheck.kind == "tcp"
    assert entry.version == "unknown" and entry.license == "NOASSERTION"
    assert entry.origin is not None and entry.origin.upstream_id == "quirky"
    assert "brand_new_field: unknown Helper-Scripts field, not converted" in info.lossy
    assert any(f.rule == "shared-default-password" for f in lint_entry(entry))


def test_helper_scripts_install_and_update_scripts() -> None:
    entry, _ = by_id(import_helper_scripts(HELPER))["quirky"]
    debian, alpine = entry.install
    assert isinstance(debian, ScriptInstall) and isinstance(alpine, ScriptInstall)
    assert 'curl -fsSL "$REPO/install/quirky-install.sh"' in debian.script
    assert 'curl -fsSL "$REPO/misc/install.func"' in debian.script
    assert "export APPLICATION='Quirky Media'" in debian.script  # shell-quoted
    assert "export CTTYPE=0" in debian.script  # privileged
    assert '"$REPO/install/alpine-quirky-install.sh"' in alpine.script
    assert "alpine-install.func" in alpine.script and "apk add" in alpine.script
    assert entry.update.method == "script"
    assert entry.update.script is not None and "/ct/quirky.sh" in entry.update.script


def test_helper_scripts_without_resources_or_website() -> None:
    entry, info = by_id(import_helper_scripts(HELPER))["bare"]
    assert entry.resources.cores == 1 and entry.resources.memory_mb == 512
    assert any("resources 1 core / 512 MB / 4 GB" in a for a in info.assumed)
    assert str(entry.website) == "https://community-scripts.github.io/ProxmoxVE/scripts?id=bare"
    assert entry.update.method == "none"  # updateable: false
    assert entry.ports == [] and entry.healthcheck is None
    assert entry.categories == ["development"]


def test_helper_scripts_single_file_finds_metadata_beside_it() -> None:
    result = import_helper_scripts(HELPER / "quirky.json")
    assert list(by_id(result)) == ["quirky"]
    assert by_id(result)["quirky"][0].categories == ["media", "downloads"]


def test_helper_scripts_missing_path() -> None:
    with pytest.raises(ImportSourceError):
        import_helper_scripts(HELPER / "nope")


# -- Portainer ---------------------------------------------------------------------------------------


def test_portainer_v1() -> None:
    result = import_portainer(PORTAINER / "v1.json")
    entry, info = by_id(result)["static-site"]
    service = entry.install[0].compose["services"]["static-site"]  # type: ignore[union-attr]
    assert service["ports"] == ["80:80/tcp", "443:443/tcp"]
    assert service["volumes"] == [
        "/opt/static-site/usr-share-nginx-html:/usr/share/nginx/html",
        "/opt/static-site/etc-nginx-certs:/etc/nginx/certs:ro",
    ]
    assert "volume /etc/nginx/certs: host path /srv/certs replaced by /opt/<id>/etc-nginx-certs" in info.lossy
    assert entry.version == "1.27"
    assert str(entry.website) == "https://hub.docker.com/_/nginx"
    assert "Docker Swarm" in skip_reasons(result)["Swarm Agent"]
    assert lint_entry(entry) == [f for f in lint_entry(entry) if f.rule == "credentials-unknown"]


def test_portainer_v2_container_fields() -> None:
    result = import_portainer(PORTAINER / "v2.json")
    entry, info = by_id(result)["notes"]
    service = entry.install[0].compose["services"]["notes"]  # type: ignore[union-attr]
    assert service["image"] == "ghcr.io/acme/notes:2.4.1"  # registry + image
    assert service["ports"] == ["8080:80/tcp", "443:443/tcp", "53:53/udp"]
    assert [(p.name, p.port, p.protocol, p.web_ui) for p in entry.ports] == [
        ("http", 8080, "tcp", True),
        ("tcp-443", 443, "tcp", False),
        ("udp-53", 53, "udp", False),
    ]
    assert service["volumes"] == [
        "/opt/notes/data:/data",
        "/etc/timezone:/etc/timezone:ro",  # " /etc/timezone" and "/etc/timezone:ro" quirks
        "/var/run/docker.sock:/var/run/docker.sock:ro",
        "/opt/notes/cache:/cache",
    ]
    assert [v.path for v in entry.volumes] == ["/opt/notes/data", "/opt/notes/cache"]
    env = {e.name: e for e in entry.env}
    assert (
        env["MODE"].type == "choice"
        and env["MODE"].choices == ["fast", "safe"]
        and env["MODE"].default == "safe"
    )
    assert env["ADMIN_PASSWORD"].generate == "password" and env["ADMIN_PASSWORD"].default is None
    assert env["SMTP_API_KEY"].required and env["SMTP_API_KEY"].generate is None
    assert env["APP_THEME"].default == "dark"
    assert service["environment"]["INTERNAL_URL"] == "http://localhost"  # preset: fixed, not an input
    assert service["environment"]["app.theme"] == "${APP_THEME}"
    assert service["labels"] == {"traefik.enable": "true"}
    assert (
        service["privileged"] is True and service["restart"] == "always" and service["command"] == "--serve"
    )
    assert "network_mode" not in service
    assert any(lossy.startswith("network 'host'") for lossy in info.lossy)
    assert (
        "env ADMIN_PASSWORD: the shared default value was dropped; a fresh value is used per install"
        in info.lossy
    )
    assert any("not-a-port" in lossy for lossy in info.lossy)
    assert entry.notes[0].text == "Default login is in the docs (https://notes.example.org/docs).\nEnjoy."
    assert entry.summary == "Notes for teams." and "<b>" not in entry.description
    assert entry.origin is not None and entry.origin.maintainer == "https://github.com/acme/"
    assert not [f for f in lint_entry(entry) if f.severity == "error"]


def test_portainer_v2_skips_and_duplicates() -> None:
    result = import_portainer(PORTAINER / "v2.json")
    assert "notes-2" in by_id(result)
    reasons = skip_reasons(result)
    assert reasons["No Image"] == "a container template without an image"
    assert "windows" in reasons["Windows Thing"]
    assert "Swarm" in reasons["Swarm Monitoring"]
    assert "Kubernetes" in reasons["Kube App"]
    assert reasons["Future Type"] == "unknown template type 7"
    assert "--stacks-dir" in reasons["Team Wiki"]  # no local clone given


def test_portainer_compose_stack_from_a_local_clone() -> None:
    result = import_portainer(PORTAINER / "v2.json", stacks_dir=PORTAINER / "stacks")
    entry, _ = by_id(result)["wiki"]
    compose = entry.install[0].compose  # type: ignore[union-attr]
    assert set(compose["services"]) == {"wiki", "db"}
    assert compose["services"]["wiki"]["env_file"] == [".env"]
    assert entry.version == "2.5.300"
    assert {v.path for v in entry.volumes} == {
        "/opt/proximity/wiki/uploads",
        "/var/lib/docker/volumes/wiki_db-data",
    }
    assert {e.name for e in entry.env} == {"DB_PASSWORD", "WIKI_TITLE", "SESSION_SECRET"}
    assert [f for f in lint_entry(entry) if f.severity == "error"] == []
    assert "not found under" in skip_reasons(result)["Missing Stack"]


def test_portainer_v3() -> None:
    result = import_portainer(PORTAINER / "v3.json")
    mysql, _ = by_id(result)["mysql"]
    assert mysql.origin is not None and mysql.origin.upstream_id == "8"
    assert mysql.version == "5.7" and mysql.categories == ["databases"]
    env = {e.name: e for e in mysql.env}
    assert env["MYSQL_ROOT_PASSWORD"].generate == "password"
    assert mysql.install[0].compose["services"]["mysql"]["environment"]["MYSQL_ROOT_HOST"] == "%"  # type: ignore[union-attr]


def test_portainer_refuses_what_is_not_a_template_file(tmp_path: Path) -> None:
    bad = tmp_path / "templates.json"
    bad.write_text('{"templates": 3}', encoding="utf-8")
    with pytest.raises(ImportSourceError, match="neither a v1"):
        import_portainer(bad)


# -- writing and the shared helpers ----------------------------------------------------------------


def test_written_files_load_back_as_a_catalog(tmp_path: Path) -> None:
    result = import_portainer(PORTAINER / "v2.json", stacks_dir=PORTAINER / "stacks")
    written = write_entries(result, tmp_path)
    assert sorted(p.name for p in written) == ["notes-2.json", "notes.json", "wiki.json"]
    catalog = load_catalog([tmp_path], builtin=False)
    assert catalog.errors == ()
    assert catalog["wiki"] == by_id(result)["wiki"][0]
    again = import_portainer(PORTAINER / "v2.json", stacks_dir=PORTAINER / "stacks")
    assert write_entries(again, tmp_path) == []  # existing files are kept ...
    assert sum("exists (use --overwrite)" in s.reason for s in again.skipped) == 3  # ... and said so
    report = again.report()
    assert report["counts"]["converted"] == 0
    json.dumps(report)


def test_summary_and_html_helpers() -> None:
    assert summary_from("First. Second.", "x") == "First."
    long = "word " * 80
    assert len(summary_from(long, "x")) <= 200 and summary_from(long, "x").endswith("…")
    assert summary_from("", "Fallback") == "Fallback"
    assert strip_html("<b>a</b> &amp; <a href='https://x.org'>link</a>") == "a & link (https://x.org)"
    assert map_categories(["Video", "Tools"]) == (["media"], ["video", "tools"])
    assert map_categories(["Mail"])[0] == ["communication"]
    assert map_categories([])[0] == ["other"]


# -- the real samples (../shared) -------------------------------------------------------------------


@pytest.mark.shared
def test_helper_scripts_real_samples(shared_samples: Path, tmp_path: Path) -> None:
    result = import_helper_scripts(shared_samples / "helper-scripts")
    converted = by_id(result)
    documents = [p for p in (shared_samples / "helper-scripts").glob("*.json") if p.name != "metadata.json"]
    assert len(converted) + len(result.skipped) == len(documents)  # nothing disappears
    assert {"jellyfin", "vaultwarden", "immich", "zigbee2mqtt"} <= set(converted)
    reasons = skip_reasons(result)
    assert "virtual machine" in reasons["OPNsense"]
    assert "host tool" in reasons["PVE Post Install"]
    assert "add-on" in reasons["Tailscale"]
    immich, _ = converted["immich"]
    assert immich.install[0].os == "debian"  # type: ignore[union-attr]  # "Debian" upstream
    assert converted["zigbee2mqtt"][0].requirements.privileged is True
    assert converted["apache-guacamole"][0].credentials.policy == "upstream-default"
    assert len(converted["vaultwarden"][0].install) == 2
    write_entries(result, tmp_path)
    assert load_catalog([tmp_path], builtin=False).errors == ()


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "converted_at_least"),
    [
        ("portainer-official-v1-excerpt.json", 2),
        ("portainer-official-v3-excerpt.json", 5),
        ("lissy93-excerpt.json", 10),
    ],
)
def test_portainer_real_samples(
    shared_samples: Path, tmp_path: Path, name: str, converted_at_least: int
) -> None:
    path = shared_samples / "portainer" / name
    raw = json.loads(path.read_text(encoding="utf-8"))
    templates = raw if isinstance(raw, list) else raw["templates"]
    result = import_portainer(path)
    assert len(result.entries) + len(result.skipped) == len(templates)
    assert len(result.entries) >= converted_at_least
    for skip in result.skipped:
        assert skip.reason
    write_entries(result, tmp_path)
    assert load_catalog([tmp_path], builtin=False).errors == ()


def test_helper_scripts_index_file_with_real_quirks() -> None:
    """Excerpt of upstream's ct-index.json ({slug: document}): float disk sizes, an upper-case slug,
    a 'misc' host script."""
    result = import_helper_scripts(FIXTURES / "helper-scripts-index" / "ct-index.json")
    converted = by_id(result)
    assert sorted(converted) == ["2fauth", "alpine-it-tools", "pf2etools"]
    it_tools, info = converted["alpine-it-tools"]
    assert it_tools.resources.disk_gb == 1  # "hdd": 0.2
    assert "install_methods[0].resources: hdd 0.2 rounded up" in info.assumed
    assert converted["pf2etools"][1].reference == "ct-index.json#Pf2eTools"
    assert "ct/Pf2eTools.sh" in converted["pf2etools"][0].install[0].script  # type: ignore[union-attr]
    assert "host" in skip_reasons(result)["All Templates"]
    two_fa, two_fa_info = converted["2fauth"]
    assert two_fa.categories == ["other"]  # no metadata.json beside the index: ids cannot be named
    assert "category 6: not in metadata.json, mapped to 'other'" in two_fa_info.lossy
    assert two_fa.install[0].os == "debian"  # type: ignore[union-attr]


@pytest.mark.shared
def test_portainer_real_sample_stack_with_a_local_clone(shared_samples: Path) -> None:
    result = import_portainer(
        shared_samples / "portainer" / "lissy93-excerpt.json", stacks_dir=PORTAINER / "stacks"
    )
    traefik, _ = by_id(result)["traefik"]
    assert traefik.version == "v2.10"
    assert [(p.port, p.web_ui) for p in traefik.ports] == [(80, True), (8080, False)]
    service = traefik.install[0].compose["services"]["reverse-proxy"]  # type: ignore[union-attr]
    assert {"target": 80, "published": 80, "protocol": "tcp", "mode": "host"} in service[
        "ports"
    ]  # kept as written
    assert [f.rule for f in lint_entry(traefik) if f.severity == "error"] == ["stateful-without-volumes"]
    assert "Adguard Home (stack)" in skip_reasons(result)  # its repository is not in the clone folder


def test_portainer_modes_written_into_paths() -> None:
    template = {
        "type": 1,
        "title": "Fail2ban",
        "image": "linuxserver/fail2ban:1.1.0",
        "volumes": [
            {"container": "/var/log:ro", "bind": "/volume1/docker/fail2ban/var/log:ro"},
            {"container": "/config", "bind": "/volume1/docker/fail2ban/config"},
        ],
        "note": "<p>Don't forget:</p><p>mkdir -p /volume1/docker/fail2ban/config</p>",
    }
    outcome = convert_template(template, "t#0", IdAllocator())
    assert isinstance(outcome, tuple)
    entry, _ = outcome
    service = entry.install[0].compose["services"]["fail2ban"]  # type: ignore[union-attr]
    assert service["volumes"] == ["/opt/fail2ban/var-log:/var/log:ro", "/opt/fail2ban/config:/config"]
    assert entry.notes[0].text == "Don't forget:\nmkdir -p /volume1/docker/fail2ban/config"


def test_helper_scripts_second_variant_update_is_kept_as_a_note() -> None:
    entry, info = by_id(import_helper_scripts(HELPER))["quirky"]
    update_note = 'To update the alpine-quirky variant, run in it: bash -c "$(curl -fsSL '
    assert any(n.text.startswith(update_note) and "/ct/alpine-quirky.sh" in n.text for n in entry.notes)
    assert any("ct/alpine-quirky.sh variant" in lossy for lossy in info.lossy)
