"""Dynamic micro-batching: concurrent requests share one model call, off the event loop.

Requests put their conversations in a bounded queue and await futures. One collector task takes what is
queued (up to ``max_batch_size`` conversations), and, while traffic is concurrent (the previous batch held
more than one conversation), waits up to ``max_wait_s`` after the oldest item for more; an idle server
sends a lone request at once, so concurrency 1 pays no waiting. The batch runs in a dedicated inference
thread; while it runs, new requests queue up and form the next batch. A full queue raises ``QueueFull``
(429) instead of growing without bound.

The classifier is read at the start of every batch, so ``use()`` swaps the model between two batches
and a batch in flight finishes on the model it started with: no request fails during a reload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from classifier.inference import Classifier, Prediction
from classifier.schema import BusinessProfile, Conversation

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """More conversations are waiting than the queue may hold."""


class BatcherClosed(Exception):
    """The batcher is stopping or stopped and takes no new work."""


@dataclass
class _Item:
    conv: Conversation
    future: asyncio.Future[Prediction]
    enqueued: float = field(default_factory=time.monotonic)


BatchObserver = Callable[[int, float], None]  # (conversations in the batch, seconds of inference)


class MicroBatcher:
    def __init__(
        self,
        classifier: Classifier,
        *,
        max_batch_size: int = 32,
        max_wait_s: float = 0.002,
        max_queue: int = 512,
        inference_batch_size: int = 1,
        observe: BatchObserver | None = None,
        profile: BusinessProfile | None = None,
    ) -> None:
        self.classifier = classifier
        self.profile = profile  # for conversations that bring none (classifier.profile)
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.inference_batch_size = inference_batch_size
        self._observe = observe
        self._pending: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scopeguard-inference")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_batch_size = 0

    @property
    def queued(self) -> int:
        return len(self._pending)

    def use(self, classifier: Classifier) -> None:
        """Serve the next batches with ``classifier`` (batches in flight finish on the old one)."""
        self.classifier = classifier

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._collect(), name="scopeguard-batcher")

    async def stop(self) -> None:
        """Take no new work, finish everything queued, then stop the inference thread."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def classify(self, convs: Sequence[Conversation]) -> list[Prediction]:
        """Predictions for ``convs`` in order; QueueFull when they do not fit in the queue."""
        if self._closing or self._task is None:
            raise BatcherClosed("the service is not accepting work")
        if len(self._pending) + len(convs) > self.max_queue:
            raise QueueFull(
                f"{len(self._pending)} conversations are waiting (limit {self.max_queue}); retry later"
            )
        loop = asyncio.get_running_loop()
        items = [_Item(conv, loop.create_future()) for conv in convs]
        self._pending.extend(items)
        self._wakeup.set()
        return list(await asyncio.gather(*(item.future for item in items)))

    # -- the collector ---------------------------------------------------------------------------------

    async def _collect(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._wait_for_more()
            batch = self._take_batch()
            if batch:
                await self._run(batch)

    async def _wait_for_more(self) -> None:
        if self._last_batch_size <= 1 or self.max_wait_s <= 0:
            return
        deadline = self._pending[0].enqueued + self.max_wait_s
        while len(self._pending) < self.max_batch_size and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Item]:
        batch: list[_Item] = []
        while self._pending and len(batch) < self.max_batch_size:
            item = self._pending.popleft()
            if not item.future.done():  # a cancelled request (client gone) is not classified
                batch.append(item)
        return batch

    async def _run(self, batch: list[_Item]) -> None:
        classifier = self.classifier
        loop = asyncio.get_running_loop()
        convs = [item.conv for item in batch]
        started = time.perf_counter()
        try:
            predictions = await loop.run_in_executor(self._executor, self._predict, classifier, convs)
        except Exception as exc:
            # Inputs are validated, so this is unexpected; classify one by one so only the culprit fails.
            # Only the exception type is logged: its message could quote transcript text.
            log.error(
                "batch inference failed (%s); retrying its %d conversations one by one",
                type(exc).__name__,
                len(convs),
            )
            await self._run_one_by_one(batch, classifier)
        else:
            for item, prediction in zip(batch, predictions, strict=True):
                if not item.future.done():
                    item.future.set_result(prediction)
        self._last_batch_size = len(batch)
        if self._observe is not None:
            self._observe(len(batch), time.perf_counter() - started)

    async def _run_one_by_one(self, batch: list[_Item], classifier: Classifier) -> None:
        loop = asyncio.get_running_loop()
        for item in batch:
            try:
                (prediction,) = await loop.run_in_executor(
                    self._executor, self._predict, classifier, [item.conv]
                )
            except Exception as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
            else:
                if not item.future.done():
                    item.future.set_result(prediction)

    def _predict(self, classifier: Classifier, convs: list[Conversation]) -> list[Prediction]:
        return classifier.classify(convs, profile=self.profile, batch_size=self.inference_batch_size)
