"""Per-turn training targets from a labelled conversation's meta, as the model contract defines them.

Assistant turn i -> 1 if i in meta.general_turns else 0. User turn j -> 1 if j in meta.general_requests
or j is the last user turn before a general assistant turn, else 0. A general_assistance flow with bot
replies but no general_turns has no turn targets: it is learned through the flow-level (MIL) loss on the
max of its assistant-turn logits. A flow without bot replies gives each user turn the flow label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from classifier.schema import POSITIVE_LABEL, Conversation

TARGETS_VERSION = "t1"  # bump when the rules change: it is part of the dataset cache key


class TargetError(ValueError):
    """meta.general_turns / meta.general_requests contradict the conversation."""


@dataclass(frozen=True)
class TurnTargets:
    targets: dict[int, float]  # turn index -> 0.0 / 1.0, only turns with a target
    mil: bool  # True: learn this flow from the max of its assistant-turn logits (label 1)


def _indices(conv: Conversation, key: str, role: str) -> set[int]:
    value: Any = conv.meta.get(key) or []
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TargetError(f"id {conv.id}: meta.{key} must be a list of turn indices, found {value!r}")
    wrong = [i for i in value if not 0 <= i < len(conv.turns) or conv.turns[i].role != role]
    if wrong:
        raise TargetError(
            f"id {conv.id}: meta.{key} lists {wrong}, which are not {role} turns "
            f"(the conversation has {len(conv.turns)} turns, 0-based)"
        )
    return set(value)


def turn_targets(conv: Conversation) -> TurnTargets:
    if conv.label is None:
        raise TargetError(f"id {conv.id}: no label; training conversations must be labelled")
    positive = conv.label == POSITIVE_LABEL
    general_turns = _indices(conv, "general_turns", "assistant")
    general_requests = _indices(conv, "general_requests", "user")
    if general_turns and not positive:
        raise TargetError(
            f"id {conv.id}: labelled {conv.label} but meta.general_turns lists {sorted(general_turns)}; "
            "a flow with a general bot reply is general_assistance"
        )
    bots = [i for i, t in enumerate(conv.turns) if t.role == "assistant"]
    users = [i for i, t in enumerate(conv.turns) if t.role == "user"]
    if not bots:
        return TurnTargets({j: float(positive) for j in users}, mil=False)
    if positive and not general_turns:
        return TurnTargets({}, mil=True)
    requests = set(general_requests)
    for i in general_turns:
        before = [j for j in users if j < i]
        if before:
            requests.add(before[-1])
    targets = {i: float(i in general_turns) for i in bots}
    targets.update({j: float(j in requests) for j in users})
    return TurnTargets(targets, mil=False)
