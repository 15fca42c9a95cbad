"""ConversationBuilder: turns, their bookkeeping, greetings, openers and handover families."""

from __future__ import annotations

from datagen_samples import KNOWLEDGE, make_builder

from datagen.fragments import load_fragments_strict


def test_attached_media_is_not_indexed_as_a_general_request(fragments):
    pool = fragments["en"]
    for seed in range(20):
        b = make_builder(pool, seed, media_rate=1.0, split_rate=0.0, link_rate=0.0)
        b.general_request(pool.categories["coding"].families[0])
        assert [t["text"] for t in b.turns].count("[image]") == 1
        assert len(b.turns) == 2 and len(b.general_requests) == 1
        assert b.turns[b.general_requests[0]]["text"] != "[image]"


def test_greeting_frames_only_on_the_first_user_message(fragments):
    from datagen.tables import tables

    starts = tuple(s.lower() for s in tables("en").realism.greeting_frame_starts)
    for seed in range(60):
        b = make_builder(
            fragments["en"], seed, frame_rate=1.0, lowercase=True, split_rate=0.0, voice_rate=0.0
        )
        b.user("first question", request=True)
        b.bot("answer")
        b.user("second question", request=True)
        assert not b.turns[2]["text"].lower().startswith(starts), b.turns[2]["text"]


def test_later_bot_answers_lose_their_greeting_opening(fragments):
    b = make_builder(fragments["en"], 0, bot_split_rate=0.0)
    b.bot("Hi! Your parcel is on its way.")
    b.bot("Hello! Sure, here is the tracking link.")
    assert b.turns[0]["text"].startswith("Hi!") and b.turns[1]["text"] == "Sure, here is the tracking link."


def test_comply_prefix_also_opens_business_answers(fragments):
    hits = 0
    for seed in range(600):
        b = make_builder(fragments["en"], seed, bot_split_rate=0.0)
        b.business_exchange(fragments["en"].domains["telecom"].families[0], 1)
        hits += any(t["role"] == "assistant" and t["text"].startswith("Ok:") for t in b.turns)
        assert not b.general_turns
    assert hits > 3


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
        b = make_builder(pool, seed)
        assert [f.id for f in b.business_families(5)] == ["roaming"]
        assert [f.id for f in b.business_families(5, handover=True)] == ["talk_to_agent"]


def test_a_later_request_does_not_greet_again(fragments):
    b = make_builder(fragments["en"], 2, frame_rate=0.0, split_rate=0.0, voice_rate=0.0, lowercase=True)
    b.user("hola!! tienen habitación pa 2?", request=True)
    b.bot("Sí, tenemos.")
    b.user("hello, i need a room for 3 nights", request=True)
    assert b.turns[0]["text"].startswith("hola") and b.turns[2]["text"].startswith("i need a room")


def test_a_general_family_is_never_drawn_for_the_business_whose_offer_it_is(tmp_path, write_lang):
    from dataclasses import replace

    root = tmp_path / "fragments"
    lang = write_lang(root)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(root, ("en",))["en"]
    coding = pool.categories["coding"]
    tagged = replace(coding.families[0], offer_of=frozenset({"telecom"}))
    pool.categories["coding"] = replace(coding, families=(tagged,))
    drawn = {make_builder(pool, seed).general_family().category for seed in range(40)}
    assert drawn == {"knowledge"}
    other = replace(pool.domains["telecom"], key="bank")
    drawn = {
        make_builder(replace(pool, domains={"telecom": other}), seed).general_family().category
        for seed in range(40)
    }
    assert drawn == {"coding", "knowledge"}
