"""classifier.picking: the criteria, the strata, near-duplicates and flat memory (a bounded pool)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from classifier.inference import Classifier
from classifier.picking import (
    POOL_FACTOR,
    PickSettings,
    _quotas,
    kmeans,
    pick,
    sketch,
    uncertainty,
)
from classifier.readers import Record
from classifier.schema import Conversation, Turn

LANGS = ("en", "de", "es", "pt-BR")


def _records(n: int, *, duplicates: bool = False) -> Iterator[Record]:
    for i in range(n):
        text = "where is my order" if duplicates else f"order {i} item {i * 7} colour {i % 13} size {i % 5}"
        conv = Conversation(
            id=f"c{i}",
            turns=[
                Turn(role="user", text=text),
                Turn(role="assistant", text=f"it ships {i % 3 if not duplicates else 2} days"),
            ],
            lang=LANGS[i % 4],
            meta={"channel": "web" if i % 5 else "whatsapp"},
        )
        yield Record(conv, "a.jsonl", i + 1)


@pytest.fixture(scope="module")
def clf(tiny_model_dir: Path) -> Classifier:
    return Classifier.load(tiny_model_dir, threads=1)


def test_uncertainty_peaks_at_the_threshold() -> None:
    assert uncertainty(0.4, 0.4) == 1.0
    assert uncertainty(1.0, 0.4) == pytest.approx(0.0)
    assert uncertainty(0.2, 0.4) == pytest.approx(1 - 0.2 / 0.6)


def test_the_pick_covers_every_stratum_and_keeps_n(clf: Classifier) -> None:
    chosen, stats = pick(_records(80), clf, PickSettings(n=12, seed=1, random_share=0.0))
    assert len(chosen) == 12 and stats.considered == 80
    strata = Counter(c.stratum for c in chosen)
    assert set(strata) == set(stats.strata)  # 8 strata, all represented
    assert all(c.reasons["cluster"] and c.reasons["stratum"] for c in chosen)


def test_the_pick_is_deterministic_by_seed(clf: Classifier) -> None:
    ids = [
        [c.conversation.id for c in pick(_records(60), clf, PickSettings(n=10, seed=3))[0]] for _ in range(2)
    ]
    assert ids[0] == ids[1]


def test_near_duplicates_are_removed(clf: Classifier) -> None:
    chosen, _ = pick(_records(40, duplicates=True), clf, PickSettings(n=10, random_share=0.0))
    texts = Counter(tuple(t.text for t in c.conversation.turns) for c in chosen)
    assert len(chosen) == len(texts) == 1  # the same conversation under 40 ids is picked once


def test_memory_is_bounded_by_the_pool_not_the_archive(
    clf: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifier.picking as picking

    sizes: list[int] = []
    original = picking._Pool.offer

    def offer(self: picking._Pool, cand: picking.Candidate) -> None:
        original(self, cand)
        sizes.append(len(self.heap))

    monkeypatch.setattr(picking._Pool, "offer", offer)
    pick(_records(300), clf, PickSettings(n=2, random_share=0.0))
    assert max(sizes) <= POOL_FACTOR * 2


def test_a_second_opinion_that_disagrees_raises_priority(clf: Classifier) -> None:
    chosen, _ = pick(_records(20), clf, PickSettings(n=5, random_share=0.0), second=clf)
    assert all(c.reasons["second_opinion"]["disagreement"] == 0.0 for c in chosen)


def test_quotas_are_proportional_with_one_per_stratum() -> None:
    strata = Counter({("en", "web"): 90, ("de", "web"): 9, ("es", "web"): 1})
    quota = _quotas(strata, dict.fromkeys(strata, 50), 10)
    assert sum(quota.values()) == 10 and quota[("es", "web")] == 1 and quota[("en", "web")] >= 7


def test_sketch_and_kmeans() -> None:
    a, b = sketch([1, 2, 3]), sketch([1, 2, 3])
    assert float(a @ b) == pytest.approx(1.0) and not sketch([]).any()
    x = np.stack([sketch([i % 2 * 100 + k for k in range(5)]) for i in range(10)])
    labels = kmeans(x, 2, seed=0)
    assert len(set(labels[::2])) == 1 and len(set(labels[1::2])) == 1 and labels[0] != labels[1]
