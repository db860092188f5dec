"""The deterministic parts: normalisation, clauses, sizes, names from the live state, the CLI's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.omni.entities import extract_sizes, words_to_digits
from proximity.omni.lexicon import load_lexicon, normalise
from proximity.omni.parser import Parser
from proximity.omni.planner import Planner
from proximity.omni.state import LiveState


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(
        LiveState.of(apps=["jellyfin", "uptime-kuma", "gitea"], hosts=["lab"], nodes=["pve1", "pve2"])
    )


def test_normalise_keeps_names_and_drops_accents() -> None:
    assert normalise("Butta GIÙ l'app uptime-kuma, ora!") == "butta giu l app uptime-kuma ora"
    assert normalise("dammi 1.5 GB.") == "dammi 1.5 gb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 cores and 4GB of ram", {"cores": 2, "memory_mb": 4096}),
        ("4 giga di ram e 20 gb di disco", {"memory_mb": 4096, "disk_gb": 20}),
        ("512 mb", {"memory_mb": 512}),
        ("1.5 gb of memory", {"memory_mb": 1536}),
        ("a 1 tb disk", {"disk_gb": 1024}),
        ("quattro core", {"cores": 4}),
        ("ultime 30 righe", {}),
    ],
)
def test_sizes(text: str, expected: dict[str, int]) -> None:
    lexicon = load_lexicon()
    assert extract_sizes(words_to_digits(normalise(text), lexicon), lexicon).resize_args() == expected


def test_number_words_only_before_units() -> None:
    lexicon = load_lexicon()
    assert words_to_digits("fai una copia di gitea", lexicon) == "fai una copia di gitea"
    assert words_to_digits("dagli due core", lexicon) == "dagli 2 core"


def test_clauses_split_on_sequencing_words_and_between_verbs(parser: Parser) -> None:
    assert parser.clauses("back up gitea and then restart it") == ["back up gitea", "restart it"]
    assert parser.clauses("ferma gitea, poi aggiornalo e riavvialo") == [
        "ferma gitea",
        "aggiornalo",
        "riavvialo",
    ]


def test_names_come_only_from_the_live_state(parser: Parser) -> None:
    assert parser.parse("restart jellyfin").best.calls == (("apps.restart", {"name": "jellyfin"}),)
    assert parser.parse("restart nextcloud").best.calls == (("out_of_scope", {}),)  # not an app here
    assert parser.parse("move gitea to pve9").best.calls == (("out_of_scope", {}),)  # no such node


def test_typos_and_prefixes(parser: Parser) -> None:
    assert parser.parse("restrat jellyfn").best.calls == (("apps.restart", {"name": "jellyfin"}),)
    assert parser.parse("stop uptime").best.calls == (("apps.stop", {"name": "uptime-kuma"}),)


def test_language_detection(parser: Parser) -> None:
    assert parser.language("riavvia jellyfin per favore") == "it"
    assert parser.language("please restart jellyfin") == "en"


def test_sentences_follow_the_language() -> None:
    planner = Planner(LiveState.of(apps=["jellyfin"]), ranker=None)
    assert planner.plan("riavvia jellyfin").steps[0].sentence == "Riavvia jellyfin"
    assert planner.plan("restart jellyfin").steps[0].sentence == "Restart jellyfin"


def test_cli_plan_only_json(tmp_path: Path) -> None:
    from proximity.cli import main

    result = CliRunner().invoke(
        main,
        [
            "ask",
            "--plan-only",
            "--json",
            "--no-model",
            "--db",
            str(tmp_path),
            "installa immich con 4 giga di RAM",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"action": "apps.deploy", "args": {"catalog_id": "immich", "memory_mb": 4096}, "risk": "change"}
    ]


def test_cli_refuses_bulk_delete_without_running(tmp_path: Path) -> None:
    from proximity.cli import main

    result = CliRunner().invoke(
        main, ["ask", "--yes", "--no-model", "--db", str(tmp_path), "delete everything"]
    )
    assert result.exit_code == 0, result.output
    assert "Refused" in result.output
