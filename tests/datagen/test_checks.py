"""Checks of generated conversations: meta against POLICY.md, leaked slots and doubled articles."""

from __future__ import annotations

from classifier.schema import NEGATIVE_LABEL, parse_conversation
from datagen import checks


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
