"""Schema v1: validation errors name record and field; limits are record errors."""

from __future__ import annotations

import pytest

from classifier.schema import Conversation, Limits, RecordError, parse_conversation

GOOD = {
    "id": "conv-1",
    "turns": [
        {"role": "user", "text": "hi, where is my order 4411?", "ts": "2026-03-02T10:15:00Z"},
        {"role": "assistant", "text": "Let me check..."},
    ],
    "label": "business_support",
    "lang": "en",
    "meta": {"channel": "whatsapp"},
}


def problem_of(obj, **kwargs) -> RecordError:
    with pytest.raises(RecordError) as info:
        parse_conversation(obj, source="data.jsonl", line=17, **kwargs)
    return info.value


def test_valid_record_round_trips():
    conv = parse_conversation(GOOD)
    assert isinstance(conv, Conversation)
    assert conv.to_record() == GOOD
    assert conv.has_bot_reply


def test_error_names_source_line_id_and_field():
    bad = {**GOOD, "id": "conv-9", "turns": [*GOOD["turns"], {"role": "bot", "text": "x"}]}
    err = problem_of(bad)
    assert (
        str(err)
        == "data.jsonl line 17 (id conv-9): turns[2].role 'bot' is not one of user, assistant, agent, system"
    )
    assert err.to_dict() == {
        "source": "data.jsonl",
        "line": 17,
        "id": "conv-9",
        "error": "turns[2].role 'bot' is not one of user, assistant, agent, system",
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"turns": []}, "turns is empty: a conversation needs at least one turn"),
        ({"turns": [{"role": "user", "text": "  "}]}, "turns[0].text is empty"),
        ({"turns": [{"role": "user"}]}, "turns[0].text is missing"),
        ({"turns": "hello"}, "turns must be a list, got 'hello'"),
        ({"label": "support"}, "label 'support' is not one of business_support, general_assistance"),
        ({"id": " "}, "id is empty"),
        (
            {"turns": [{"role": "user", "text": "a", "ts": "yesterday"}]},
            "turns[0].ts 'yesterday' is not an ISO 8601",
        ),
    ],
)
def test_field_problems(change, problem):
    assert problem_of({**GOOD, **change}).problem.startswith(problem)


def test_not_an_object():
    err = problem_of(["a"])
    assert err.problem == "expected a JSON object, got list" and err.record_id is None


@pytest.mark.parametrize(
    ("limits", "obj", "problem"),
    [
        (Limits(max_turns=1), GOOD, "turns has 2 turns, over the limit of 1"),
        (Limits(max_turn_chars=10), GOOD, "turns[0].text has 27 characters, over the limit of 10"),
        (Limits(max_conversation_chars=30), GOOD, "conversation has 42 characters, over the limit of 30"),
        (Limits(max_id_chars=3), GOOD, "id has 6 characters, over the limit of 3"),
    ],
)
def test_limits_are_record_errors(limits, obj, problem):
    err = problem_of(obj, limits=limits)
    assert err.record_id == "conv-1" and problem in err.problem


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(max_turns=0)
