"""Which validation flows choose the decision threshold (training.train.threshold_flows)."""

from __future__ import annotations

from classifier.schema import Conversation, Turn
from training.config import ThresholdPolicy
from training.train import threshold_flows


def conv(cid: str, **meta: object) -> Conversation:
    return Conversation(id=cid, turns=[Turn(role="user", text="hi")], meta=dict(meta))


def test_the_threshold_can_be_chosen_without_the_scope_pairs():
    convs = [conv("a", pair_id="p1"), conv("b"), conv("c", pair_id="p1")]
    assert threshold_flows(convs, ThresholdPolicy()).tolist() == [True, True, True]
    assert threshold_flows(convs, ThresholdPolicy(exclude_scope_pairs=True)).tolist() == [False, True, False]
