"""Per-turn targets from meta, as the model contract defines them, and their encoding into windows."""

from __future__ import annotations

import pytest

from classifier.model_config import special_tokens_of
from classifier.render import ConversationEncoder, RenderConfig
from classifier.schema import Conversation
from training.data import NO_TARGET, DataError, encode_example
from training.targets import TargetError, turn_targets
from training.tiny import FALLBACK_TEXTS, train_tokenizer


def conv(roles, label, **meta):
    turns = [{"role": r, "text": f"turn {i} text"} for i, r in enumerate(roles)]
    return Conversation.model_validate({"id": "c1", "turns": turns, "label": label, "meta": meta})


def test_general_turn_and_its_request():
    t = turn_targets(
        conv(["user", "assistant", "user", "assistant"], "general_assistance", general_turns=[3])
    )
    assert t.targets == {0: 0.0, 1: 0.0, 2: 1.0, 3: 1.0} and not t.mil


def test_deflection_is_business_but_the_request_is_general():
    c = conv(["system", "user", "assistant"], "business_support", general_turns=[], general_requests=[1])
    t = turn_targets(c)
    assert t.targets == {1: 1.0, 2: 0.0}


def test_last_user_turn_before_the_general_reply_is_the_request():
    c = conv(["user", "user", "agent", "assistant"], "general_assistance", general_turns=[3])
    assert turn_targets(c).targets == {0: 0.0, 1: 1.0, 3: 1.0}


def test_unannotated_general_flow_uses_mil():
    t = turn_targets(conv(["user", "assistant"], "general_assistance"))
    assert t.targets == {} and t.mil


@pytest.mark.parametrize("label,expected", [("general_assistance", 1.0), ("business_support", 0.0)])
def test_lone_requests_take_the_flow_label(label, expected):
    assert turn_targets(conv(["system", "user", "user"], label)).targets == {1: expected, 2: expected}


@pytest.mark.parametrize(
    "meta,message",
    [
        ({"general_turns": [0]}, "not assistant turns"),
        ({"general_requests": [1]}, "not user turns"),
        ({"general_turns": "1"}, "must be a list"),
    ],
)
def test_inconsistent_meta_is_an_error(meta, message):
    with pytest.raises(TargetError, match=message):
        turn_targets(conv(["user", "assistant"], "general_assistance", **meta))


def test_business_flow_with_general_turns_is_an_error():
    with pytest.raises(TargetError, match="is general_assistance"):
        turn_targets(conv(["user", "assistant"], "business_support", general_turns=[1]))


def test_encoded_spans_carry_channel_and_target_over_several_windows():
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    special = special_tokens_of(tokenizer)
    render = RenderConfig(max_tokens=32, max_turn_tokens=16, turn_tail_tokens=4, context_tokens=8,
                          max_system_tokens=4)  # fmt: skip
    encoder = ConversationEncoder(tokenizer, render, special.cls_id, special.sep_id)
    roles = ["user", "assistant"] * 4
    c = conv(roles, "general_assistance", general_turns=[5])
    example = encode_example(c, encoder)
    assert example["n_windows"] > 1
    assert sorted(example["span_turn"]) == list(range(8))  # every scored turn owned exactly once
    pairs = zip(example["span_channel"], example["span_target"], strict=True)
    by_turn = dict(zip(example["span_turn"], pairs, strict=True))
    assert by_turn[5] == (0, 1.0) and by_turn[4] == (1, 1.0) and by_turn[1] == (0, 0.0)
    assert NO_TARGET not in example["span_target"]
    with pytest.raises(DataError):
        encode_example(conv(["user", "assistant"], "business_support", general_turns=[1]), encoder)
