"""Search: ranking, typos, prefixes and filters, on a small hand-made catalog."""

from __future__ import annotations

import pytest

from proximity.catalog.schema import CatalogEntry
from proximity.catalog.search import SearchIndex, tokenize

APPS = [
    ("jellyfin", "Jellyfin", ["media"], ["movies", "streaming"], "The free software media system.", {}),
    ("jellyseerr", "Jellyseerr", ["media"], ["requests"], "Media request manager for Jellyfin and Plex.", {}),
    (
        "vaultwarden",
        "Vaultwarden",
        ["security"],
        ["passwords", "bitwarden"],
        "Bitwarden password manager.",
        {},
    ),
    (
        "nextcloud",
        "Nextcloud",
        ["storage", "productivity"],
        ["files", "sync"],
        "Files, calendar and contacts.",
        {},
    ),
    (
        "home-assistant",
        "Home Assistant",
        ["home-automation"],
        ["smart-home"],
        "Open-source home automation.",
        {},
    ),
    ("immich", "Immich", ["photos"], ["photos", "ai"], "Self-hosted photo and video backup.", {"gpu": True}),
    (
        "paperless-ngx",
        "Paperless-ngx",
        ["documents"],
        ["ocr", "scanner"],
        "Scan, index and archive documents.",
        {},
    ),
    (
        "frigate",
        "Frigate",
        ["home-automation"],
        ["nvr", "cameras"],
        "NVR with realtime object detection.",
        {"gpu": True},
    ),
]


@pytest.fixture
def index(entry_model) -> SearchIndex:  # type: ignore[no-untyped-def]
    entries: list[CatalogEntry] = []
    for app_id, name, categories, tags, summary, requirements in APPS:
        entry = entry_model(
            id=app_id, name=name, categories=categories, tags=tags, summary=summary, description=""
        )
        if requirements:
            entry = entry.model_copy(
                update={"requirements": entry.requirements.model_copy(update=requirements)}
            )
        entries.append(entry)
    return SearchIndex(entries)


def ids(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [hit.entry.id for hit in hits]


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("jellyfin", "jellyfin"),
        ("Jellyfin", "jellyfin"),
        ("jelyfin", "jellyfin"),
        ("jellyfn", "jellyfin"),
        ("vaultwardn", "vaultwarden"),
        ("valtwarden", "vaultwarden"),
        ("nextclod", "nextcloud"),
        ("next", "nextcloud"),
        ("vault", "vaultwarden"),
        ("home assistant", "home-assistant"),
        ("homeassistant", "home-assistant"),
        ("home asistant", "home-assistant"),
        ("paperless", "paperless-ngx"),
        ("password", "vaultwarden"),
        ("bitwarden", "vaultwarden"),
        ("ocr", "paperless-ngx"),
        ("nvr cameras", "frigate"),
    ],
)
def test_queries_find_the_expected_app_first(index: SearchIndex, query: str, expected_first: str) -> None:
    hits = index.search(query)
    assert hits, f"no hits for {query!r}"
    assert hits[0].entry.id == expected_first, [(h.entry.id, h.score) for h in hits]


def test_an_exact_name_beats_a_mention(index: SearchIndex) -> None:
    hits = index.search("jellyfin")
    assert ids(hits)[:2] == ["jellyfin", "jellyseerr"]  # jellyseerr mentions Jellyfin in its summary
    assert hits[0].score > hits[1].score


def test_exact_beats_prefix_beats_fuzzy(index: SearchIndex) -> None:
    exact = index.search("jellyfin")[0].score
    prefix = index.search("jellyf")[0].score
    fuzzy = index.search("jelyfin")[0].score
    assert exact > prefix > fuzzy > 0


def test_entries_matching_every_term_rank_above_partial_matches(index: SearchIndex) -> None:
    hits = index.search("media requests")
    assert ids(hits)[0] == "jellyseerr"
    assert "jellyfin" in ids(hits)


def test_nonsense_finds_nothing(index: SearchIndex) -> None:
    assert index.search("qwxzzy") == []


def test_filters_by_category_tag_and_requirement(index: SearchIndex) -> None:
    assert ids(index.search("", category="home-automation")) == ["frigate", "home-assistant"]
    assert ids(index.search("", tag="ocr")) == ["paperless-ngx"]
    assert set(ids(index.search("", requires={"gpu": True}, limit=None))) == {"immich", "frigate"}
    no_gpu = ids(index.search("", requires={"gpu": False}, limit=None))
    assert "immich" not in no_gpu and len(no_gpu) == len(APPS) - 2
    assert ids(index.search("photo", requires={"gpu": False})) == []
    assert ids(index.search("", requires={"nesting": True}, limit=None)) == ids(index.search("", limit=None))
    assert ids(index.search("", install="script")) == []
    assert len(index.search("", install="compose", limit=None)) == len(APPS)


def test_unknown_filters_are_refused(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="unknown category"):
        index.search("", category="cooking")
    with pytest.raises(ValueError, match="unknown requirement"):
        index.search("", requires={"quantum": True})
    with pytest.raises(ValueError, match="unknown install type"):
        index.search("", install="snap")


def test_empty_query_lists_by_name_and_respects_limit(index: SearchIndex) -> None:
    names = [hit.entry.name for hit in index.search("", limit=None)]
    assert names == sorted(names, key=str.lower)
    assert len(index.search("", limit=3)) == 3


def test_the_fuzzy_vocabulary_is_the_key_fields_only(index: SearchIndex) -> None:
    assert 0 < index.fuzzy_vocabulary_size < index.vocabulary_size


def test_tokenize_drops_stop_words_and_punctuation() -> None:
    assert tokenize("The Paperless-ngx app, for your documents!") == ["paperless", "ngx", "documents"]


def test_fields_are_indexed_strongest_first(entry_model) -> None:  # type: ignore[no-untyped-def]
    from proximity.catalog.search import FIELD_WEIGHTS, _entry_fields

    names = [name for name, _ in _entry_fields(entry_model())]
    weights = [FIELD_WEIGHTS[name] for name in names]
    assert names == list(FIELD_WEIGHTS) and weights == sorted(weights, reverse=True)


def test_a_word_in_name_and_description_keeps_the_name_weight(entry_model) -> None:  # type: ignore[no-untyped-def]
    entry = entry_model(id="zeta", name="Zeta", description="zeta zeta zeta", summary="About zeta.")
    (hit,) = SearchIndex([entry]).search("zeta")
    assert hit.score > 10  # name weight 10 plus the exact-name bonus, not the description's 1


def test_a_query_of_stop_words_searches_them(entry_model) -> None:  # type: ignore[no-untyped-def]
    index = SearchIndex([entry_model(id="the-app", name="The App"), entry_model(id="other", name="Other")])
    assert [hit.entry.id for hit in index.search("the app")] == ["the-app"]
