"""Flow aggregation and batching: the parts of inference that need no model."""

from __future__ import annotations

import math

from classifier.inference import aggregate_turns, length_batches
from classifier.render import Window


def test_one_general_bot_reply_among_many_decides_the_flow() -> None:
    turns = {i: ("assistant" if i % 2 else "user", -4.0) for i in range(40)}
    turns[27] = ("assistant", 3.0)
    agg = aggregate_turns(turns)
    assert agg.flow_logit == 3.0
    assert agg.judged_role == "assistant"


def test_bot_replies_decide_even_when_a_request_looks_general() -> None:
    # a deflection: the user asked for a poem (request logit high), the bot declined (bot logit low)
    agg = aggregate_turns({0: ("user", 5.0), 1: ("assistant", -3.0), 2: ("user", 4.0)})
    assert agg.flow_logit == -3.0


def test_without_bot_reply_the_requests_decide() -> None:
    agg = aggregate_turns({0: ("user", -1.0), 1: ("user", 2.5)})
    assert (agg.flow_logit, agg.judged_role) == (2.5, "user")


def test_no_scorable_turn_is_never_general() -> None:
    assert aggregate_turns({}).flow_logit == -math.inf


def testlength_batches_respect_count_and_token_budget() -> None:
    items = [(i, Window(input_ids=tuple(range(n)), spans=())) for i, n in enumerate([5, 50, 10, 40, 46, 48])]
    batches = list(length_batches(items, batch_size=2, max_batch_tokens=100))
    assert sorted(ci for b in batches for ci, _ in b) == list(range(6)), "every window batched once"
    for b in batches:
        assert len(b) <= 2
        assert max(len(w) for _, w in b) * len(b) <= 100
    lengths = [len(w) for b in batches for _, w in b]
    assert lengths == sorted(lengths, reverse=True)


def testlength_batches_do_not_pad_a_window_by_more_than_a_tenth() -> None:
    items = [(i, Window(input_ids=tuple(range(n)), spans=())) for i, n in enumerate([180, 70, 175, 64])]
    batches = list(length_batches(items, batch_size=16, max_batch_tokens=4096))
    assert [[len(w) for _, w in b] for b in batches] == [[180, 175], [70, 64]]
