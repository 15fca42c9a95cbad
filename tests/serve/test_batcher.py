"""The micro-batcher: concurrent requests share model calls, results go back in order, the queue is
bounded, a swap takes effect between batches, stopping finishes queued work."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from classifier.inference import Classifier, Prediction
from classifier.schema import Conversation, Turn
from serve.batcher import BatcherClosed, MicroBatcher, QueueFull


def conv(i: int) -> Conversation:
    return Conversation(id=f"c{i}", turns=[Turn(role="user", text=f"order {i} where is it")])


class RecordingClassifier:
    """Stands in for Classifier: records each batch, optionally blocks until released."""

    def __init__(self, name: str = "m1", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def classify(
        self, convs: Sequence[Conversation], *, profile: object = None, batch_size: int = 1
    ) -> list[Prediction]:
        self.gate.wait(10)
        time.sleep(self.delay)
        self.batches.append([c.id for c in convs])
        return [
            Prediction(id=c.id, label="business_support", score=0.1, threshold=0.5, model=self.name)
            for c in convs
        ]


def batcher_for(clf: Any, **kwargs: Any) -> MicroBatcher:
    return MicroBatcher(clf, **kwargs)


def test_concurrent_requests_are_batched_and_answered_in_order() -> None:
    async def scenario() -> tuple[list[list[Prediction]], RecordingClassifier]:
        clf = RecordingClassifier(delay=0.02)
        batcher = batcher_for(clf, max_batch_size=8, max_wait_s=0.01)
        batcher.start()
        results = await asyncio.gather(*(batcher.classify([conv(i)]) for i in range(20)))
        await batcher.stop()
        return results, clf

    results, clf = asyncio.run(scenario())
    assert [r[0].id for r in results] == [f"c{i}" for i in range(20)]
    assert sorted(i for batch in clf.batches for i in batch) == sorted(f"c{i}" for i in range(20))
    assert max(len(b) for b in clf.batches) > 1  # requests shared model calls
    assert all(len(b) <= 8 for b in clf.batches)


def test_a_lone_request_does_not_wait() -> None:
    async def scenario() -> float:
        batcher = batcher_for(RecordingClassifier(), max_wait_s=1.0)
        batcher.start()
        started = time.perf_counter()
        await batcher.classify([conv(0)])
        elapsed = time.perf_counter() - started
        await batcher.stop()
        return elapsed

    assert asyncio.run(scenario()) < 0.5


def test_a_full_queue_raises() -> None:
    async def scenario() -> None:
        clf = RecordingClassifier()
        clf.gate.clear()  # the model is busy
        batcher = batcher_for(clf, max_queue=3, max_batch_size=1)
        batcher.start()
        first = asyncio.ensure_future(batcher.classify([conv(0)]))
        await asyncio.sleep(0.05)  # conv 0 is in the model; the queue is empty again
        waiting = asyncio.ensure_future(batcher.classify([conv(1), conv(2), conv(3)]))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull, match="limit 3"):
            await batcher.classify([conv(4)])
        clf.gate.set()
        assert len(await waiting) == 3 and len(await first) == 1
        await batcher.stop()

    asyncio.run(scenario())


def test_swap_applies_to_the_next_batch_and_stop_drains() -> None:
    async def scenario() -> list[str]:
        old, new = RecordingClassifier("old"), RecordingClassifier("new")
        old.gate.clear()
        batcher = batcher_for(old, max_batch_size=1)
        batcher.start()
        in_flight = asyncio.ensure_future(batcher.classify([conv(0)]))
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(batcher.classify([conv(1)]))
        await asyncio.sleep(0)
        batcher.use(new)  # a reload while conv 0 is in the old model and conv 1 waits
        old.gate.set()
        stopping = asyncio.ensure_future(batcher.stop())
        models = [(await in_flight)[0].model, (await queued)[0].model]
        await stopping
        with pytest.raises(BatcherClosed):
            await batcher.classify([conv(2)])
        return models

    models = asyncio.run(scenario())
    assert models == ["old", "new"]


def test_batched_scores_equal_scores_alone(tiny_model_dir: Path) -> None:
    clf = Classifier.load(tiny_model_dir, threads=1)
    convs = [
        Conversation(
            id=f"r{i}",
            turns=[
                Turn(role="user", text="write a poem " * i),
                Turn(role="assistant", text="your order ships today"),
            ],
        )
        for i in range(1, 9)
    ]
    alone = [clf.classify([c], batch_size=1)[0].score for c in convs]

    async def scenario() -> list[float]:
        batcher = MicroBatcher(clf, max_batch_size=8, max_wait_s=0.01, inference_batch_size=1)
        batcher.start()
        results = await asyncio.gather(*(batcher.classify([c]) for c in convs))
        await batcher.stop()
        return [r[0].score for r in results]

    assert asyncio.run(scenario()) == alone
