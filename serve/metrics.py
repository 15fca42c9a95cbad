"""Prometheus metrics of one service process (prometheus-client), in a registry of its own per app.

With several uvicorn workers each process has its own registry and a scrape sees one of them; run one
worker per replica and scrape every replica (docs/SERVING.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics import MetricWrapperBase

from classifier.window_cache import WindowCache
from serve.settings import DEFAULT_MODEL

M = TypeVar("M", bound=MetricWrapperBase)

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """The service's instruments; ``render()`` gives the exposition text of ``/metrics``.

    The instruments of a model (predictions, micro-batches, queue, model info, window cache) carry a
    ``model`` label (``default``, ``live``) only when the service holds more than one model, so a
    one-model service exposes exactly the series it always did. ``for_model(name)`` records for one model.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self, registry: CollectorRegistry | None = None, model_names: Sequence[str] = (DEFAULT_MODEL,)
    ) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        per_model = ["model"] if len(model_names) > 1 else []
        self.requests = Counter(
            "scopeguard_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "scopeguard_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_request_items = Histogram(
            "scopeguard_batch_request_items",
            "conversations per /v1/classify/batch request",
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.inference_batch = Histogram(
            "scopeguard_inference_batch_conversations",
            "conversations per micro-batch sent to the model",
            per_model,
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "scopeguard_inference_duration_seconds",
            "model time per micro-batch",
            per_model,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "scopeguard_predictions", "conversations classified, by label", ["label", *per_model], registry=r
        )
        self.queue_depth = Gauge(
            "scopeguard_queue_conversations", "conversations waiting for the model", per_model, registry=r
        )
        self.ready = Gauge("scopeguard_ready", "1 when a warmed-up model serves requests", registry=r)
        self.model = Info("scopeguard_model", "the model being served", per_model, registry=r)
        self.reloads = Counter(
            "scopeguard_model_reloads", "model reloads by outcome", ["outcome"], registry=r
        )
        self.window_cache = Gauge(
            "scopeguard_window_cache_windows",
            "window scores looked up in the live re-check cache since the model was loaded, by result",
            ["result", *per_model],
            registry=r,
        )
        self._models = {name: ModelMetrics(self, name, bool(per_model)) for name in model_names}

    def for_model(self, name: str) -> ModelMetrics:
        return self._models[name]

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ModelMetrics:
    """The series of one served model: ``Metrics``' per-model instruments with its ``model`` label (none
    on a one-model service)."""

    def __init__(self, metrics: Metrics, name: str, labelled: bool) -> None:
        self._metrics = metrics
        self._labels = {"model": name} if labelled else {}
        self._window_cache: WindowCache | None = None
        self._inference_batch = self._child(metrics.inference_batch)
        self._inference_seconds = self._child(metrics.inference_seconds)
        self._queue_depth = self._child(metrics.queue_depth)
        self._info = self._child(metrics.model)
        for result, stat in (("hit", "hits"), ("miss", "misses")):
            gauge = metrics.window_cache.labels(result=result, **self._labels)
            gauge.set_function(partial(self._window_cache_stat, stat))

    def _child(self, metric: M) -> M:
        return metric.labels(**self._labels) if self._labels else metric

    def predicted(self, label: str) -> None:
        self._metrics.predictions.labels(label=label, **self._labels).inc()

    def observe_batch(self, size: int, seconds: float) -> None:
        self._inference_batch.observe(size)
        self._inference_seconds.observe(seconds)

    def queued(self, conversations: int) -> None:
        self._queue_depth.set(conversations)

    def serving(self, model_id: str, precision: str, compute: str, cache: WindowCache | None) -> None:
        """The model now served under this name, its product arithmetic, and its window cache (None when
        it is off)."""
        self._info.info({"model_id": model_id, "precision": precision, "compute": compute})
        self._window_cache = cache

    def _window_cache_stat(self, name: str) -> float:
        return float(getattr(self._window_cache, name)) if self._window_cache is not None else 0.0
