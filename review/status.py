"""Where a queue stands: picked, labelled, pending, per reviewer, and agreement between reviewers.

An item is *labelled* when at least one reviewer's current answer is a label (``business_support``,
``general_assistance`` or ``unsure``); *pending* otherwise (skipped items stay pending). Agreement:
for every pair of reviewers, the items both labelled with a definite label give the raw agreement and
Cohen's kappa; every item whose definite labels differ is listed as a disagreement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from review.queue import Answer, Item, ReviewQueue

DEFINITE = ("business_support", "general_assistance")


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when undefined (no items, or both
    raters used one and the same single label, where chance agreement is 1)."""
    if not a or len(a) != len(b):
        return None
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class ItemState:
    item: Item
    answers: dict[str, Answer]  # reviewer -> current answer

    @property
    def labels(self) -> dict[str, str]:
        return {r: a.label for r, a in self.answers.items() if a.action == "label" and a.label is not None}

    @property
    def definite(self) -> dict[str, str]:
        return {r: label for r, label in self.labels.items() if label in DEFINITE}

    @property
    def labelled(self) -> bool:
        return bool(self.labels)

    @property
    def agreed_label(self) -> str | None:
        """The label every reviewer with a definite answer gave; None when none did or they differ."""
        values = set(self.definite.values())
        return values.pop() if len(values) == 1 else None


def item_states(queue: ReviewQueue) -> list[ItemState]:
    answers = queue.answers()
    by_item: dict[int, dict[str, Answer]] = {}
    for (item_id, reviewer), answer in answers.items():
        by_item.setdefault(item_id, {})[reviewer] = answer
    return [ItemState(item, by_item.get(item.id, {})) for item in queue.items()]


def agreement(states: list[ItemState]) -> dict[str, Any]:
    reviewers = sorted({r for s in states for r in s.definite})
    pairs = []
    for r1, r2 in combinations(reviewers, 2):
        shared = [s for s in states if r1 in s.definite and r2 in s.definite]
        a = [s.definite[r1] for s in shared]
        b = [s.definite[r2] for s in shared]
        kappa = cohen_kappa(a, b)
        pairs.append({
            "reviewers": [r1, r2],
            "shared": len(shared),
            "agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 4) if a else None,
            "kappa": round(kappa, 4) if kappa is not None else None,
        })  # fmt: skip
    disagreements = [
        {"id": s.item.id, "conv_id": s.item.conv_id, "labels": s.definite}
        for s in states
        if len(set(s.definite.values())) > 1
    ]
    return {"pairs": pairs, "disagreements": disagreements}


def queue_status(queue: ReviewQueue) -> dict[str, Any]:
    """The JSON of ``review status --json`` and of the page's progress bar."""
    states = item_states(queue)
    per_reviewer: dict[str, Counter[str]] = {}
    for s in states:
        for reviewer, answer in s.answers.items():
            key = answer.label if answer.action == "label" and answer.label else "skip"
            per_reviewer.setdefault(reviewer, Counter())[key] += 1
    runs = queue.runs()
    return {
        "queue": str(queue.path),
        "picked": len(states),
        "labelled": sum(s.labelled for s in states),
        "pending": sum(not s.labelled for s in states),
        "pending_ids": [s.item.conv_id for s in states if not s.labelled],
        "exportable": sum(s.agreed_label is not None for s in states),
        "reviewers": {
            r: {"labelled": sum(v for k, v in c.items() if k != "skip"), **dict(sorted(c.items()))}
            for r, c in sorted(per_reviewer.items())
        },
        "agreement": agreement(states),
        "pick_runs": [
            {
                "at": r.at,
                "model": r.model,
                "n": r.n,
                "added": r.added,
                "read": r.read,
                "considered": r.considered,
                "invalid": r.invalid,
                "profile": r.profile,
            }
            for r in runs
        ],
    }
