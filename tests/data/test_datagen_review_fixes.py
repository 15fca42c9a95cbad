"""Fixes after the data review: media never indexed as a request, category of business flows with a
general request, grey-zone (category, domain) exclusions, bare lone requests."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest
from pydantic import ValidationError

from classifier.schema import NEGATIVE_LABEL, parse_conversation
from datagen import checks
from datagen.builder import ConversationBuilder
from datagen.config import GenerateConfig, load_config
from datagen.engine import compose
from datagen.flows import FLOW_VARIANTS
from datagen.fragments import load_fragments_strict
from datagen.realism import Persona
from datagen.slots import SlotFiller

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


def test_committed_data_has_no_slot_or_article_leaks(all_generated):
    problems = [p for conv in all_generated for p in checks.text_leaks(conv)]
    assert problems == [], problems[:10]


def test_committed_data_lone_one_message_requests_are_balanced(all_generated):
    lone = [c for c in all_generated if len(c.turns) == 1 and c.turns[0].role == "user"]
    share = len(lone) / len(all_generated)
    assert 0.09 <= share <= 0.13, f"lone one-message requests are {share:.1%} of the data"
    general = sum(c.label != NEGATIVE_LABEL for c in lone) / len(lone)
    assert 0.44 <= general <= 0.56, f"{general:.0%} of lone one-message requests are general"
    for lang in {c.lang for c in all_generated}:
        in_lang = sum(c.lang == lang for c in lone) / len(lone)
        assert 0.2 <= in_lang <= 0.3, f"{lang}: {in_lang:.0%} of lone one-message requests"


# --- review P1-8, P1-7, P1-5, P1-4, P2-1 ---------------------------------------------------------


def test_greeting_prefix_slots_are_filled(fragments):
    from datagen.flows import merge_greeting

    b = _builder(fragments["en"], 1)
    b.user("where is my order")
    merge_greeting(b, 0, "hi, {name} here")
    assert "{name}" not in b.turns[0]["text"] and b.slots.fixed["name"] in b.turns[0]["text"]


def test_spanish_time_is_bare_and_dates_keep_one_format():
    from datagen.slots import format_time

    rng = random.Random(3)
    assert not any(format_time(rng, "es").startswith("las") for _ in range(200))
    for seed in range(10):
        slots = SlotFiller(random.Random(seed), "en", "Shop")
        shapes = {re.sub(r"\d+", "9", slots.fill("{date}")) for _ in range(30)}
        shapes = {re.sub(r"[A-Z][a-z]+", "Month", s) for s in shapes}
        assert len(shapes) == 1, shapes


def test_text_leaks_flags_unfilled_slots_and_doubled_articles():
    record = {
        "id": "x",
        "turns": [
            {"role": "user", "text": "hola soy {name}"},
            {"role": "assistant", "text": "te espero a las las 15:00"},
        ],
    }
    problems = checks.text_leaks(parse_conversation(record))
    assert len(problems) == 2 and "{name}" in problems[0] and "las las" in problems[1]
    ok = {"id": "y", "turns": [{"role": "assistant", "text": "print(f'{x}') a las 15:00"}]}
    assert checks.text_leaks(parse_conversation(ok)) == []


def test_greeting_frames_only_on_the_first_user_message(fragments):
    from datagen.tables import tables

    starts = tuple(s.lower() for s in tables("en").realism.greeting_frame_starts)
    for seed in range(60):
        b = _builder(fragments["en"], seed, frame_rate=1.0, lowercase=True, split_rate=0.0, voice_rate=0.0)
        b.user("first question", request=True)
        b.bot("answer")
        b.user("second question", request=True)
        assert not b.turns[2]["text"].lower().startswith(starts), b.turns[2]["text"]


def test_later_bot_answers_lose_their_greeting_opening(fragments):
    b = _builder(fragments["en"], 0, bot_split_rate=0.0)
    b.bot("Hi! Your parcel is on its way.")
    b.bot("Hello! Sure, here is the tracking link.")
    assert b.turns[0]["text"].startswith("Hi!") and b.turns[1]["text"] == "Sure, here is the tracking link."


def test_one_currency_and_city_list_per_business(tmp_path, write_lang):
    domain = """
domain: telecom
businesses: [{name: "MTN Nigeria", country: NG}, "Vodafone"]
families:
  - id: roaming
    kind: exchange
    user: ["roaming to {city}?"]
    bot: ["Roaming costs {amount} a day, {amount_large} a year."]
"""
    lang = write_lang(tmp_path, domain=domain)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(tmp_path, ("en",))["en"]
    assert pool.domains["telecom"].locales == {"MTN Nigeria": ("NG", None)}
    for seed in range(20):
        ng = SlotFiller(random.Random(seed), "en", "MTN Nigeria", country="NG", domain="telecom")
        text = ng.fill("{amount} {amount} {amount_large} {city} {url}")
        assert text.count("£") == 0 and text.count("€") == 0 and ".co.uk" not in text
        assert ng.fill("{city}") in (
            "Lagos",
            "Abuja",
            "Port Harcourt",
            "Ibadan",
            "Enugu",
            "Kano",
            "Benin City",
        )
        uk = SlotFiller(random.Random(seed), "en", "Vodafone")
        assert {c for c in uk.fill(" ".join(["{amount}"] * 10)) if c in "£$€₦"} == {"£"}


def test_small_amounts_are_the_rule():
    slots = SlotFiller(random.Random(0), "en", "Shop")
    values = [float(slots.fill("{amount}").lstrip("£").replace(",", "")) for _ in range(500)]
    assert max(values) <= 300 and sorted(values)[250] < 60


def test_handover_is_motivated_and_agent_lines_are_ordered(fragments):
    from datagen.flows import handover

    glue = fragments["en"].glue.lists
    texts = {name: {g.text for g in glue[name]} for name in ("agent_open", "agent_middle", "agent_close")}
    for seed in range(40):
        b = _builder(fragments["en"], seed)
        handover(b)
        roles = [t["role"] for t in b.turns]
        first_bot = roles.index("assistant")
        assert first_bot >= 1 and set(roles[:first_bot]) == {"user"} and roles.count("assistant") == 1
        agent = [t["text"] for t in b.turns if t["role"] == "agent"]
        assert len(agent) == len(set(agent))
        if agent:
            assert agent[0] == "Hi, {} here.".format(b.slots.fixed["agent"])
            assert all(a not in texts["agent_open"] for a in agent[1:])


def test_comply_prefix_also_opens_business_answers(fragments):
    hits = 0
    for seed in range(600):
        b = _builder(fragments["en"], seed, bot_split_rate=0.0)
        b.business_exchange(fragments["en"].domains["telecom"].families[0], 1)
        hits += any(t["role"] == "assistant" and t["text"].startswith("Ok:") for t in b.turns)
        assert not b.general_turns
    assert hits > 3


def test_fallback_mentions_a_menu_only_after_a_menu_greeting(tmp_path, write_lang):
    from datagen_samples import COMMON

    from datagen.flows import MENU_REFERENCE, Skeleton, opening

    common = COMMON.replace(
        'fallback_bot: ["Type 1 for orders."]', 'fallback_bot: ["Type 1 for orders.", "Sorry, say again?"]'
    ).replace('greetings_bot: ["Hi {name}, welcome to {business}"]', 'greetings_bot: ["Hi, welcome!"]')
    assert common != COMMON
    lang = write_lang(tmp_path, common=common)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(tmp_path, ("en",))["en"]
    for seed in range(30):
        b = _builder(pool, seed)
        sk = replace(Skeleton.draw(random.Random(seed)), fallback=True, bot_greets=seed % 2 == 0)
        opening(b, sk)
        bot = [t["text"] for t in b.turns if t["role"] == "assistant"]
        assert not MENU_REFERENCE.search(bot[-1]), bot


def test_handover_families_only_end_a_conversation(tmp_path, write_lang):
    from datagen.builder import is_handover_family

    domain = """
domain: telecom
businesses: ["Vodafone"]
families:
  - id: roaming
    user: ["roaming to {city}?"]
    bot: ["Send ROAM to 4141."]
  - id: talk_to_agent
    user: ["real person pls"]
    bot: ["Sure, I'm transferring you to a colleague now."]
"""
    lang = write_lang(tmp_path, domain=domain)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(tmp_path, ("en",))["en"]
    handover_family = pool.domains["telecom"].families[1]
    assert is_handover_family(handover_family, "en")
    for seed in range(20):
        b = _builder(pool, seed)
        assert [f.id for f in b.business_families(5)] == ["roaming"]
        assert [f.id for f in b.business_families(5, handover=True)] == ["talk_to_agent"]


def test_a_later_request_does_not_greet_again(fragments):
    b = _builder(fragments["en"], 2, frame_rate=0.0, split_rate=0.0, voice_rate=0.0, lowercase=True)
    b.user("hola!! tienen habitación pa 2?", request=True)
    b.bot("Sí, tenemos.")
    b.user("hello, i need a room for 3 nights", request=True)
    assert b.turns[0]["text"].startswith("hola") and b.turns[2]["text"].startswith("i need a room")


def test_an_agent_doing_a_general_task_keeps_the_bots_label(fragments, monkeypatch):
    from datagen import flows

    monkeypatch.setattr(flows, "AGENT_GENERAL_RATE", 1.0)
    for seed in range(30):
        b = _builder(fragments["en"], seed, split_rate=0.0, media_rate=0.0)
        flows.handover(b)
        if not any(t["role"] == "agent" for t in b.turns):
            continue  # the export ended before the agent joined
        assert b.general_requests and not b.general_turns
        assert b.turns[b.general_requests[0] + 1]["role"] == "agent"
