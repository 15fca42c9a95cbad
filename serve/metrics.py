"""Prometheus metrics of one service process (prometheus-client), in a registry of its own per app.

With several uvicorn workers each process has its own registry and a scrape sees one of them; run one
worker per replica and scrape every replica (docs/SERVING.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from classifier.window_cache import WindowCache

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
    """The service's instruments; ``render()`` gives the exposition text of ``/metrics``."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
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
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "scopeguard_inference_duration_seconds",
            "model time per micro-batch",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "scopeguard_predictions", "conversations classified, by label", ["label"], registry=r
        )
        self.queue_depth = Gauge(
            "scopeguard_queue_conversations", "conversations waiting for the model", registry=r
        )
        self.ready = Gauge("scopeguard_ready", "1 when a warmed-up model serves requests", registry=r)
        self.model = Info("scopeguard_model", "the model being served", registry=r)
        self.reloads = Counter(
            "scopeguard_model_reloads", "model reloads by outcome", ["outcome"], registry=r
        )
        self._window_cache: WindowCache | None = None
        cache_windows = Gauge(
            "scopeguard_window_cache_windows",
            "window scores looked up in the live re-check cache since the model was loaded, by result",
            ["result"],
            registry=r,
        )
        cache_windows.labels("hit").set_function(lambda: self._window_cache_stat("hits"))
        cache_windows.labels("miss").set_function(lambda: self._window_cache_stat("misses"))

    def watch_window_cache(self, cache: WindowCache | None) -> None:
        """Report the hits and misses of ``cache`` (the served model's; None when it is off)."""
        self._window_cache = cache

    def _window_cache_stat(self, name: str) -> float:
        return float(getattr(self._window_cache, name)) if self._window_cache is not None else 0.0

    def observe_batch(self, size: int, seconds: float) -> None:
        self.inference_batch.observe(size)
        self.inference_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
