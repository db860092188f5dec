"""The model's call syntax and the GBNF grammar builder (no model needed)."""

from __future__ import annotations

import re

import pytest

from proximity.omni.llm_grammar import (
    SIGNATURES,
    CallSyntaxError,
    Vocabulary,
    build_grammar,
    format_call,
    format_plan,
    gbnf_literal,
    parse_calls,
    rule_name,
)

VOCABULARY = Vocabulary.of(
    apps=["jellyfin", "gitea", "home-assistant"],
    hosts=["pve1", "pve2"],
    catalog_ids=["nextcloud", "immich", "jellyfin"],
    backup_ids=["vzdump-lxc-101-2026_01_01-00_00_00.tar.zst"],
    categories=["media", "dev"],
)


def rule_names(grammar: str) -> list[str]:
    return [line.split("::=")[0].strip() for line in grammar.splitlines() if "::=" in line]


def test_rule_names_never_contain_underscores() -> None:
    grammar = build_grammar(VOCABULARY)
    names = rule_names(grammar)
    assert "root" in names and len(names) > 20
    for name in names:
        assert re.fullmatch(r"[a-z0-9-]+", name), name
    # Underscored action and argument names survive inside literals.
    assert '"out_of_scope("' in grammar
    assert '", memory_mb="' in grammar


def test_every_rule_used_is_defined() -> None:
    grammar = build_grammar(VOCABULARY)
    defined = set(rule_names(grammar))
    bodies = " ".join(line.split("::=", 1)[1] for line in grammar.splitlines() if "::=" in line)
    without_literals = re.sub(r'"(?:[^"\\]|\\.)*"', " ", bodies)
    without_classes = re.sub(r"\[(?:[^\]\\]|\\.)*\]", " ", without_literals)
    used = set(re.findall(r"[a-z][a-z0-9-]*", without_classes))
    assert used <= defined, used - defined


def test_only_live_names_are_literals() -> None:
    grammar = build_grammar(VOCABULARY)
    app_rule = next(line for line in grammar.splitlines() if line.startswith("value-app ::="))
    assert app_rule == 'value-app ::= "\\"jellyfin\\"" | "\\"gitea\\"" | "\\"home-assistant\\""'
    host_rule = next(line for line in grammar.splitlines() if line.startswith("value-host ::="))
    assert '"\\"pve1\\""' in host_rule and '"\\"pve2\\""' in host_rule and "pve3" not in host_rule


def test_actions_needing_missing_names_are_left_out() -> None:
    grammar = build_grammar(Vocabulary.of(catalog_ids=["nextcloud"]))
    assert "apps.restart(" not in grammar
    assert "hosts.status(" not in grammar
    assert "apps.deploy(" in grammar and "catalog.search(" in grammar
    # backups.restore has two signatures; with no app and no backup neither survives.
    assert "backups.restore(" not in grammar


def test_restore_offers_both_signatures() -> None:
    grammar = build_grammar(VOCABULARY)
    restore = next(line for line in grammar.splitlines() if line.startswith("call-backups-restore ::="))
    assert '"backup_id="' in restore and '"app="' in restore


def test_literals_are_escaped() -> None:
    assert gbnf_literal('a "quoted" \\ name\n') == '"a \\"quoted\\" \\\\ name\\n"'
    grammar = build_grammar(Vocabulary.of(apps=['we"ird']))
    assert 'value-app ::= "\\"we\\\\\\"ird\\""' in grammar


def test_rule_name() -> None:
    assert rule_name("apps.deploy") == "apps-deploy"
    assert rule_name("out_of_scope") == "out-of-scope"
    with pytest.raises(ValueError):
        rule_name("___")


def test_vocabulary_validates() -> None:
    assert Vocabulary.of(apps=[" a ", "a", "", "b"]).apps == ("a", "b")
    with pytest.raises(ValueError):
        Vocabulary.of(apps=["two\nlines"])
    with pytest.raises(TypeError):
        Vocabulary.of(apps=[3])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        build_grammar(Vocabulary.of(signatures=[s for s in SIGNATURES if s.action == "apps.start"]))


def test_format_and_parse_round_trip() -> None:
    plan = [
        ("backups.create", {"app": "immich"}),
        ("apps.resize", {"name": "paperless", "memory_mb": 4096, "cores": 2}),
        ("apps.delete", {"name": "old", "purge": True}),
        ("catalog.search", {"query": 'film "4k"'}),
        ("hosts.list", {}),
    ]
    text = format_plan(plan)
    assert text.startswith('backups.create(app="immich") ; apps.resize(')
    assert parse_calls(text) == plan
    assert format_call("help") == "help()"


@pytest.mark.parametrize("text", ["", "apps.restart", "apps.restart(name=jellyfin)", "x(a=1) junk"])
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(CallSyntaxError):
        parse_calls(text)


def test_build_script_never_enables_amx() -> None:
    """tools/build_llama.sh: llama.cpp's AMX path segfaults at the first decode (llama.cpp issue 20824)."""
    import platform
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "tools" / "build_llama.sh"
    done = subprocess.run(
        ["bash", str(script), "--print-cmake-args"], check=False, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    flags = done.stdout.split()
    if platform.machine() != "x86_64":
        assert flags == ["-DGGML_NATIVE=ON"]
        return
    assert "-DGGML_NATIVE=OFF" in flags  # -march=native would switch AMX on where the CPU has it
    for switch in ("TILE", "INT8", "BF16"):
        assert f"-DGGML_AMX_{switch}=OFF" in flags
    cpu_flags = Path("/proc/cpuinfo").read_text().split()
    assert ("-DGGML_AVX2=ON" in flags) == ("avx2" in cpu_flags)
