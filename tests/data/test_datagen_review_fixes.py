"""Fixes after the data review: media never indexed as a request, category of business flows with a
general request, grey-zone (category, domain) exclusions, bare lone requests."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from pydantic import ValidationError

from classifier.schema import NEGATIVE_LABEL, parse_conversation
from training.datagen import checks
from training.datagen.builder import ConversationBuilder
from training.datagen.config import GenerateConfig, load_config
from training.datagen.engine import compose
from training.datagen.flows import FLOW_VARIANTS
from training.datagen.fragments import load_fragments_strict
from training.datagen.realism import Persona
from training.datagen.slots import SlotFiller

KNOWLEDGE = """
category: knowledge
families:
  - id: capital_peru
    user: ["what's the capital of peru"]
    bot: ["Lima is the capital of Peru."]
    deflect_topic: "general knowledge"
"""


@pytest.fixture(scope="module")
def fragments(tmp_path_factory, write_lang):
    root = tmp_path_factory.mktemp("fragments")
    lang = write_lang(root)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    return load_fragments_strict(root, ("en",))


def _builder(pool, seed: int, **persona_changes) -> ConversationBuilder:
    rng = random.Random(seed)
    domain = pool.domains["telecom"]
    persona = replace(Persona.draw(rng, "en"), **persona_changes)
    slots = SlotFiller(rng, "en", domain.businesses[0], domain.products, domain.plans)
    return ConversationBuilder(rng, pool, domain, domain.businesses[0], persona, slots)


def test_attached_media_is_not_indexed_as_a_general_request(fragments):
    pool = fragments["en"]
    for seed in range(20):
        b = _builder(pool, seed, media_rate=1.0, split_rate=0.0, link_rate=0.0)
        b.general_request(pool.categories["coding"].families[0])
        assert [t["text"] for t in b.turns].count("[image]") == 1
        assert len(b.turns) == 2 and len(b.general_requests) == 1
        assert b.turns[b.general_requests[0]]["text"] != "[image]"


def test_meta_check_flags_a_media_placeholder_request(fragments):
    media = checks.media_placeholders(fragments)
    assert media == {"[image]"}
    record = {
        "id": "m1",
        "turns": [
            {"role": "user", "text": "[image]"},
            {"role": "user", "text": "reverse a string in python"},
        ],
        "label": "general_assistance",
        "meta": {
            "domain": "telecom",
            "category": "coding",
            "business": "Vodafone",
            "channel": "whatsapp",
            "flow": "lone_general",
            "families": [],
            "general_turns": [],
            "general_requests": [0, 1],
            "source": "generator",
        },
    }
    problems = checks.meta_problems(parse_conversation(record), media)
    assert problems == ["m1: meta.general_requests 0 is a media placeholder ('[image]'), not a request"]


def test_business_flow_with_a_general_request_gets_its_category(fragments):
    pool = fragments["en"]
    with_requests = 0
    for seed in range(80):
        record = compose(pool, "business", "multi_family", random.Random(f"cat:{seed}"))
        conv = parse_conversation({"id": f"c{seed}", **record})
        assert checks.meta_problems(conv) == []
        if conv.meta["general_requests"]:  # an unanswered general request at the end
            with_requests += 1
            first = conv.turns[conv.meta["general_requests"][0]].text.lower()
            expected = "knowledge" if "peru" in first else "coding"
            assert conv.meta["category"] == expected
        else:
            assert conv.meta["category"] is None
    assert with_requests > 0


def test_meta_check_flags_null_category_with_a_request():
    record = {
        "id": "b1",
        "turns": [
            {"role": "user", "text": "roaming to Rome?"},
            {"role": "assistant", "text": "Send ROAM to 4141."},
            {"role": "user", "text": "also, capital of peru?"},
        ],
        "label": NEGATIVE_LABEL,
        "meta": {
            "domain": "telecom",
            "category": None,
            "business": "Vodafone",
            "channel": "whatsapp",
            "flow": "business",
            "families": [],
            "general_turns": [],
            "general_requests": [2],
            "source": "generator",
        },
    }
    assert any("but meta.category None" in p for p in checks.meta_problems(parse_conversation(record)))


@pytest.mark.parametrize("flow", ["general_chat", "embedded", "deflection", "lone_general"])
def test_excluded_category_is_never_drawn_for_the_domain(fragments, flow):
    pool = fragments["en"]
    exclusions = {"coding": ("telecom",)}
    for seed in range(30):
        for variant in FLOW_VARIANTS[flow][1]:
            record = compose(pool, flow, variant, random.Random(f"ex:{seed}"), exclusions)
            assert record["meta"]["category"] == "knowledge"
            assert not any(f.startswith("en/general/coding/") for f in record["meta"]["families"])


def test_without_exclusions_both_categories_occur(fragments):
    pool = fragments["en"]
    cats = {
        compose(pool, "embedded", "early", random.Random(f"in:{s}"))["meta"]["category"] for s in range(40)
    }
    assert cats == {"coding", "knowledge"}


def test_config_rejects_unknown_exclusions_and_variant_weights(repo_root):
    data = load_config(repo_root / "data" / "generate.yaml").model_dump()
    with pytest.raises(ValidationError, match="not a domain"):
        GenerateConfig.model_validate({**data, "general_exclusions": {"coding": ["spaceport"]}})
    with pytest.raises(ValidationError, match="not a category"):
        GenerateConfig.model_validate({**data, "general_exclusions": {"poetry": ["bank"]}})
    with pytest.raises(ValidationError, match="not flow:variant"):
        GenerateConfig.model_validate({**data, "variant_weights": {"lone_general:naked": 2}})
    with pytest.raises(ValidationError, match="weight > 0"):
        GenerateConfig.model_validate({**data, "variant_weights": {"lone_general:bare": 0}})


def test_bare_lone_request_is_one_plain_message(fragments):
    pool = fragments["en"]
    for seed in range(30):
        for flow in ("lone_business", "lone_general"):
            record = compose(pool, flow, "bare", random.Random(f"bare:{seed}"))
            assert len(record["turns"]) == 1 and record["turns"][0]["role"] == "user"
            text = record["turns"][0]["text"].lower()
            assert "[image]" not in text and "http" not in text and not text.startswith(("hi", "hello"))
            assert record["meta"]["general_requests"] == ([0] if flow == "lone_general" else [])


# --- the committed data set -------------------------------------------------------------------------


def test_committed_data_has_no_media_requests_and_no_grey_zone_pairs(repo_root, all_generated):
    config = load_config(repo_root / "data" / "generate.yaml")
    fragments = load_fragments_strict(repo_root / config.fragments_root, config.languages)
    media = checks.media_placeholders(fragments)
    assert media
    problems = [p for conv in all_generated for p in checks.meta_problems(conv, media)]
    exclusions = config.general_exclusions
    problems += [p for conv in all_generated for p in checks.grey_zone_problems(conv, exclusions)]
    assert problems == []


def test_committed_data_lone_one_message_requests_are_balanced(all_generated):
    lone = [c for c in all_generated if len(c.turns) == 1 and c.turns[0].role == "user"]
    share = len(lone) / len(all_generated)
    assert 0.09 <= share <= 0.13, f"lone one-message requests are {share:.1%} of the data"
    general = sum(c.label != NEGATIVE_LABEL for c in lone) / len(lone)
    assert 0.44 <= general <= 0.56, f"{general:.0%} of lone one-message requests are general"
    for lang in {c.lang for c in all_generated}:
        in_lang = sum(c.lang == lang for c in lone) / len(lone)
        assert 0.2 <= in_lang <= 0.3, f"{lang}: {in_lang:.0%} of lone one-message requests"
