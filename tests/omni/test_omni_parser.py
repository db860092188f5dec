"""The deterministic parts: normalisation, clauses, sizes, names from the live state, the CLI's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from proximity.omni.entities import extract_sizes, words_to_digits
from proximity.omni.lexicon import load_lexicon, normalise
from proximity.omni.parser import Parser
from proximity.omni.plan import Step
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


# ------------------------------------------------------------ bulk requests with an exception

BULK_APPS = ["jellyfin", "jellyseerr", "plex", "nextcloud", "gitea", "home-assistant", "uptime-kuma"]


@pytest.fixture(scope="module")
def bulk_planner() -> Planner:
    return Planner(LiveState.of(apps=BULK_APPS, nodes=["pve1", "pve2"]), ranker=None)


def _targets(steps: tuple[Step, ...]) -> tuple[set[str], list[str]]:
    """The actions of a plan and the apps its steps act on, in order."""
    return {step.action for step in steps}, [
        str(step.args.get("name") or step.args.get("app")) for step in steps
    ]


@pytest.mark.parametrize(
    ("text", "action", "left_out"),
    [
        ("stop all apps except plex", "apps.stop", {"plex"}),
        ("stop everything but plex", "apps.stop", {"plex"}),
        ("stop all apps but not plex", "apps.stop", {"plex"}),
        ("stop all apps excluding plex", "apps.stop", {"plex"}),
        ("except plex, restart all apps", "apps.restart", {"plex"}),
        ("turn all apps off except plex", "apps.stop", {"plex"}),
        ("back up everything but nextcloud", "backups.create", {"nextcloud"}),
        ("update every app other than gitea and plex", "apps.update", {"gitea", "plex"}),
        ("stop all apps with the exception of home assistant", "apps.stop", {"home-assistant"}),
        ("riavvia tutte le app tranne gitea e jellyfin", "apps.restart", {"gitea", "jellyfin"}),
        ("ferma tutto a parte plex", "apps.stop", {"plex"}),
        ("a parte plex, ferma tutto", "apps.stop", {"plex"}),
        ("ferma tutto ma non plex", "apps.stop", {"plex"}),
        ("spegni tutte le app eccetto uptime kuma per favore", "apps.stop", {"uptime-kuma"}),
        ("fai un backup di tutte le app ad eccezione di nextcloud", "backups.create", {"nextcloud"}),
        ("aggiorna tutte le app escluso gitea", "apps.update", {"gitea"}),
    ],
)
def test_non_destructive_bulk_leaves_the_exception_out(
    bulk_planner: Planner, text: str, action: str, left_out: set[str]
) -> None:
    plan = bulk_planner.plan(text)
    actions, names = _targets(plan.steps)
    assert actions == {action}, plan.call_text()
    assert names == [app for app in BULK_APPS if app not in left_out]  # every other app, once, in order
    assert any(all(name in note for name in left_out) for note in plan.notes), plan.notes


def test_bulk_exception_keeps_the_other_arguments(bulk_planner: Planner) -> None:
    moved = bulk_planner.plan("move all apps except plex and gitea to pve2")
    assert {(step.action, step.args.get("node")) for step in moved.steps} == {("apps.migrate", "pve2")}
    assert [step.args["name"] for step in moved.steps] == [
        app for app in BULK_APPS if app not in ("plex", "gitea")
    ]
    resized = bulk_planner.plan("give all apps except plex 2 cores")
    assert all(step.args.get("cores") == 2 for step in resized.steps)
    assert "plex" not in {step.args["name"] for step in resized.steps}


def test_bulk_exception_then_a_next_step(bulk_planner: Planner) -> None:
    plan = bulk_planner.plan("stop all apps except plex, then restart gitea")
    stops = [step.args["name"] for step in plan.steps if step.action == "apps.stop"]
    assert "plex" not in stops and len(stops) == len(BULK_APPS) - 1
    assert (plan.steps[-1].action, plan.steps[-1].args) == ("apps.restart", {"name": "gitea"})


def test_bulk_exception_note_follows_the_language(bulk_planner: Planner) -> None:
    assert bulk_planner.plan("ferma tutto tranne plex").notes == ("esteso a tutte le app tranne plex",)
    assert bulk_planner.plan("stop everything except plex").notes == ("expanded to every app except plex",)
    assert bulk_planner.plan("stop all apps").notes == ("expanded to every app",)


def test_an_inexact_exception_leaves_out_every_close_reading_and_says_so(bulk_planner: Planner) -> None:
    plan = bulk_planner.plan("stop all apps except jelly")  # jellyfin or jellyseerr: keep both running
    _, names = _targets(plan.steps)
    assert names == [app for app in BULK_APPS if app not in ("jellyfin", "jellyseerr")]
    assert plan.notes == (
        "expanded to every app except jellyfin, jellyseerr (read as: jelly = jellyfin / jellyseerr)",
    )
    typo = bulk_planner.plan("stop all apps except nextclod and plex")
    assert "nextcloud" not in _targets(typo.steps)[1] and "plex" not in _targets(typo.steps)[1]
    assert "nextclod = nextcloud" in typo.notes[0]


@pytest.mark.parametrize(
    ("text", "reason_names"),
    [
        ("stop all apps except plx", "plx"),  # a misspelt app the person wants left alone
        ("stop all apps except plex and foobar", "foobar"),  # one known, one not: still refused
        ("restart everything except immich", "immich"),  # a catalog app, not installed here
        ("stop all apps except the running ones", "running"),
        ("ferma tutto tranne plx", "plx"),
    ],
)
def test_an_exception_naming_no_existing_app_is_refused_not_dropped(
    bulk_planner: Planner, text: str, reason_names: str
) -> None:
    plan = bulk_planner.plan(text)
    assert [step.action for step in plan.steps] == ["refused"], plan.call_text()
    reason = str(plan.steps[0].args["reason"])
    assert reason_names in reason
    assert "plex" in reason  # the apps that do exist are listed, so the person can retype the name


def test_exception_edge_cases_are_refused_with_a_reason(bulk_planner: Planner) -> None:
    dangling = bulk_planner.plan("restart all apps except")
    assert dangling.steps[0].action == "refused"
    assert "names no app" in str(dangling.steps[0].args["reason"])
    everything = bulk_planner.plan("stop all apps except " + " and ".join(BULK_APPS))
    assert everything.steps[0].action == "refused"
    assert "nothing is left" in str(everything.steps[0].args["reason"])
    italian = bulk_planner.plan("ferma tutto tranne " + " e ".join(BULK_APPS))
    assert "non resta nulla" in str(italian.steps[0].args["reason"])


@pytest.mark.parametrize(
    "text",
    [
        "cancella tutte le app tranne gitea",
        "delete everything but plex",
        "delete all apps excluding plex",
        "elimina tutto ma non plex",
        "remove every app except plx",
        "ripristina tutte le app tranne gitea",
    ],
)
def test_a_destructive_bulk_with_an_exception_is_still_refused(bulk_planner: Planner, text: str) -> None:
    plan = bulk_planner.plan(text)
    assert [step.action for step in plan.steps] == ["refused"], plan.call_text()
    assert "bulk destructive request" in str(plan.steps[0].args["reason"])


def test_a_but_followed_by_a_verb_is_not_an_exception(bulk_planner: Planner) -> None:
    plan = bulk_planner.plan("I know it's late but stop all apps")
    assert _targets(plan.steps) == ({"apps.stop"}, BULK_APPS)
    assert plan.notes == ("expanded to every app",)


def test_a_named_list_with_an_exception_leaves_it_out(bulk_planner: Planner) -> None:
    plan = bulk_planner.plan("stop plex and jellyfin but not gitea")
    assert _targets(plan.steps) == ({"apps.stop"}, ["plex", "jellyfin"])


def test_a_listing_with_an_exception_is_not_filtered_to_the_exception(bulk_planner: Planner) -> None:
    plan = bulk_planner.plan("show all apps except plex")
    assert [(step.action, step.args) for step in plan.steps] == [("apps.list", {})]  # not name="plex"
    assert plan.notes == ("a listing cannot leave apps out: it shows plex too",)
