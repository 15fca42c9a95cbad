"""Every flow variant composes a conversation whose label and meta follow docs/POLICY.md."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from datagen_samples import COMMON, KNOWLEDGE, make_builder

from classifier.schema import parse_conversation
from datagen import checks
from datagen.config import OPTIONAL_FLOWS
from datagen.engine import compose
from datagen.flows import FLOW_VARIANTS, GENERAL
from datagen.fragments import load_fragments_strict

CASES = [
    (flow, variant)
    for flow, (_, variants) in FLOW_VARIANTS.items()
    for variant in variants
    if flow not in OPTIONAL_FLOWS  # offer flows: tests/datagen/test_scope.py (they need offer files)
]


@pytest.fixture(scope="module")
def pool(tmp_path_factory, write_lang):
    root = tmp_path_factory.mktemp("fragments")
    write_lang(root)
    return load_fragments_strict(root, ("en",))["en"]


@pytest.mark.parametrize(("flow", "variant"), CASES)
def test_flow_label_and_meta(pool, flow, variant):
    for seed in range(15):
        record = compose(pool, flow, variant, random.Random(f"{flow}:{variant}:{seed}"))
        conv = parse_conversation({"id": f"t{seed}", **record})
        assert conv.label == FLOW_VARIANTS[flow][0]
        assert checks.meta_problems(conv) == []
        meta = conv.meta
        assert meta["flow"] == flow and meta["variant"] == variant and meta["source"] == "generator"
        if flow.startswith("lone_"):
            assert not conv.has_bot_reply
            assert bool(meta["general_requests"]) == (conv.label == GENERAL)
        if flow == "deflection":
            assert meta["general_turns"] == [] and meta["general_requests"]
            assert meta["category"] == "coding"
        if flow in ("business", "smalltalk_explanation", "lone_business"):
            # POLICY section 3: the first request's category, null only without a general request
            assert meta["category"] == ("coding" if meta["general_requests"] else None)
        if variant == "bare":
            assert [t.role for t in conv.turns] == ["user"]
        if variant == "insist_comply":
            complied = conv.turns[meta["general_turns"][0]].text
            assert complied.startswith(("Ok: ", "Ok:\n"))


def test_same_seed_same_conversation(pool):
    a = compose(pool, "embedded", "middle", random.Random("x"))
    b = compose(pool, "embedded", "middle", random.Random("x"))
    assert a == b


def test_greeting_prefix_slots_are_filled(fragments):
    from datagen.flows import merge_greeting

    b = make_builder(fragments["en"], 1)
    b.user("where is my order")
    merge_greeting(b, 0, "hi, {name} here")
    assert "{name}" not in b.turns[0]["text"] and b.slots.fixed["name"] in b.turns[0]["text"]


def test_handover_is_motivated_and_agent_lines_are_ordered(fragments):
    from datagen.flows import handover

    glue = fragments["en"].glue.lists
    texts = {name: {g.text for g in glue[name]} for name in ("agent_open", "agent_middle", "agent_close")}
    for seed in range(40):
        b = make_builder(fragments["en"], seed)
        handover(b)
        roles = [t["role"] for t in b.turns]
        first_bot = roles.index("assistant")
        assert first_bot >= 1 and set(roles[:first_bot]) == {"user"} and roles.count("assistant") == 1
        agent = [t["text"] for t in b.turns if t["role"] == "agent"]
        assert len(agent) == len(set(agent))
        if agent:
            assert agent[0] == "Hi, {} here.".format(b.slots.fixed["agent"])
            assert all(a not in texts["agent_open"] for a in agent[1:])


def test_fallback_mentions_a_menu_only_after_a_menu_greeting(tmp_path, write_lang):

    from datagen.flows import MENU_REFERENCE, Skeleton, opening

    common = COMMON.replace(
        'fallback_bot: ["Type 1 for orders."]', 'fallback_bot: ["Type 1 for orders.", "Sorry, say again?"]'
    ).replace('greetings_bot: ["Hi {name}, welcome to {business}"]', 'greetings_bot: ["Hi, welcome!"]')
    assert common != COMMON
    lang = write_lang(tmp_path, common=common)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(tmp_path, ("en",))["en"]
    for seed in range(30):
        b = make_builder(pool, seed)
        sk = replace(Skeleton.draw(random.Random(seed)), fallback=True, bot_greets=seed % 2 == 0)
        opening(b, sk)
        bot = [t["text"] for t in b.turns if t["role"] == "assistant"]
        assert not MENU_REFERENCE.search(bot[-1]), bot


def test_an_agent_doing_a_general_task_keeps_the_bots_label(fragments, monkeypatch):
    from datagen import flows

    monkeypatch.setattr(flows, "AGENT_GENERAL_RATE", 1.0)
    for seed in range(30):
        b = make_builder(fragments["en"], seed, split_rate=0.0, media_rate=0.0)
        flows.handover(b)
        if not any(t["role"] == "agent" for t in b.turns):
            continue  # the export ended before the agent joined
        assert b.general_requests and not b.general_turns
        assert b.turns[b.general_requests[0] + 1]["role"] == "agent"
