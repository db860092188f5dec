"""OCI image facts: reference parsing as Docker does it, lookups, tags, and the data file's consistency."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from proximity.sim import registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "name", "tag"),
    [
        ("nginx", "docker.io/library/nginx", "latest"),
        ("nginx:1.29", "docker.io/library/nginx", "1.29"),
        ("jellyfin/jellyfin:10.11.3", "docker.io/jellyfin/jellyfin", "10.11.3"),
        ("index.docker.io/jellyfin/jellyfin", "docker.io/jellyfin/jellyfin", "latest"),
        ("ghcr.io/home-assistant/home-assistant:stable", "ghcr.io/home-assistant/home-assistant", "stable"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app", "v1"),
    ],
)
def test_parse_reference(text: str, name: str, tag: str) -> None:
    parsed = registry.parse_reference(text)
    assert (parsed.name, parsed.tag) == (name, tag)


def test_parse_reference_with_digest_and_refusals() -> None:
    digest = "sha256:" + "a" * 64
    parsed = registry.parse_reference(f"nginx:1.29@{digest}")
    assert (parsed.tag, parsed.digest) == ("1.29", digest)
    for bad in ("", "UPPER/case", "nginx:", "a//b", "nginx:tag:more"):
        with pytest.raises(registry.InvalidReference):
            registry.parse_reference(bad)


def test_lookup_known_unknown_and_aliases() -> None:
    info = registry.lookup("jellyfin/jellyfin:10.11.3")
    assert info is not None
    assert info.exposed_ports == ("8096/tcp",) and info.listens == (8096,)
    assert info.env["JELLYFIN_DATA_DIR"] == "/config" and info.entrypoint == ("/jellyfin/jellyfin",)
    assert info.ref == "docker.io/jellyfin/jellyfin:10.11.3" and info.size_bytes > 100_000_000
    pihole = registry.lookup("pihole/pihole")
    assert pihole is not None and pihole.listens == (53, 80, 443)  # udp ports are not TCP listeners
    alias, canonical = (
        registry.lookup("ghcr.io/linuxserver/radarr:5"),
        registry.lookup("lscr.io/linuxserver/radarr"),
    )
    assert alias is not None and canonical is not None
    assert alias.exposed_ports == canonical.exposed_ports == ("7878/tcp",)
    assert registry.lookup("example.org/nobody/nothing:1") is None
    assert "10.11.3" in registry.tags("jellyfin/jellyfin")
    assert registry.tags("example.org/nobody/nothing") == []


def test_data_file_is_consistent() -> None:
    images = json.loads(registry.DATA_FILE.read_text())["images"]
    for name, facts in images.items():
        assert registry.parse_reference(name).name == name, name
        assert facts["tags"] and facts["size_bytes"] > 0, name
        for port in facts["exposed_ports"]:
            number, _, protocol = port.partition("/")
            assert 1 <= int(number) <= 65535 and protocol in ("tcp", "udp"), (name, port)
        assert facts.get("source"), name


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_sim_oci_images", ROOT / "tools" / "gen_sim_oci_images.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_covers_the_catalog_and_is_deterministic() -> None:
    """Every image a catalog entry names gets an entry; a second run gives the same document."""
    catalog = ROOT / "catalog" / "apps"
    if not catalog.is_dir():
        pytest.skip("no catalog in this checkout")
    generator = _generator()
    document = generator.build()
    assert document == generator.build()
    for path in sorted(catalog.glob("*.json")):
        entry = json.loads(path.read_text())
        for method in entry.get("install", []):
            images = (
                [method["image"]]
                if method.get("type") == "oci"
                else [
                    s["image"]
                    for s in (method.get("compose", {}).get("services") or {}).values()
                    if isinstance(s, dict) and isinstance(s.get("image"), str) and "${" not in s["image"]
                ]
            )
            for image in images:
                ref = registry.parse_reference(image)
                aliases = {a: n for n, f in document["images"].items() for a in f.get("aliases", [])}
                facts = document["images"].get(aliases.get(ref.name, ref.name))
                assert facts is not None, f"{path.name}: {image}"
                assert ref.tag in facts["tags"], f"{path.name}: {image}"


def test_curated_facts_are_in_the_shipped_file() -> None:
    """The data file was regenerated after the generator's table last changed."""
    shipped = json.loads(registry.DATA_FILE.read_text())["images"]
    for name, facts in _generator().KNOWN_IMAGES.items():
        assert name in shipped, name
        for key in ("exposed_ports", "env", "entrypoint", "size_bytes"):
            assert shipped[name][key] == facts[key], (name, key)
