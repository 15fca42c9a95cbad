"""The model behind the API: loading and warm-up, readiness, classification through the micro-batcher,
hot reload, audit and prediction metrics.

Lifecycle: ``start()`` loads and warms the model in a thread while the process already answers
``/healthz``; ``ready`` turns true after a warm-up inference. ``reload()`` loads and warms the new model
next to the old one and swaps it in between two micro-batches. ``stop()`` refuses new work and finishes
what is queued.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from classifier.inference import Classifier, Prediction
from classifier.model_config import PROVENANCE_FILE, ModelConfig
from classifier.model_metrics import MetricsSummary
from classifier.model_path import resolve_model_dir
from classifier.profile import load_profile
from classifier.schema import Conversation, Turn
from classifier.window_cache import WindowCache
from serve.audit import AuditLog, Decision
from serve.batcher import BatcherClosed, MicroBatcher, QueueFull
from serve.errors import ApiError
from serve.metrics import Metrics
from serve.settings import Settings

log = logging.getLogger(__name__)

WARMUP_CONVERSATIONS = (
    Conversation(
        id="warmup-0",
        turns=[
            Turn(role="system", text="online shop: orders, returns and deliveries"),
            Turn(role="user", text="hi, where is my order 4411? it was due on monday"),
            Turn(role="assistant", text="Let me check that for you. Your parcel arrives tomorrow."),
        ],
    ),
    Conversation(id="warmup-1", turns=[Turn(role="user", text="can you write me a poem about the sea")]),
)
State = Literal["loading", "ready", "failed", "stopping"]


@dataclass(frozen=True)
class LoadedModel:
    classifier: Classifier
    model_dir: Path
    metrics: MetricsSummary | None
    provenance: dict[str, Any] | None
    loaded_at: datetime

    @property
    def model_id(self) -> str:
        return self.classifier.model_id


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def load_model(model_dir: Path, threads: int | None, cache_windows: int = 0) -> LoadedModel:
    """Load a model folder and run a warm-up inference (blocking: call it in a thread)."""
    # onnxruntime threads that spin between requests take the cores the event loop needs: measured at
    # concurrency 1 on 2 cores, p50 99-104 -> 80 ms and server CPU 184-200 -> 148 ms a request
    classifier = Classifier.load(model_dir, threads=threads, allow_spinning=False)
    classifier.classify(WARMUP_CONVERSATIONS)  # the first run allocates; requests should not pay for it
    if cache_windows:  # after the warm-up, so the cache holds only requests' windows
        classifier.window_cache = WindowCache(cache_windows)
    return LoadedModel(
        classifier=classifier,
        model_dir=model_dir,
        metrics=MetricsSummary.load(model_dir),
        provenance=_read_json(model_dir / PROVENANCE_FILE),
        loaded_at=datetime.now(UTC),
    )


def check_model_dir(given: Path | str | None) -> Path:
    """The model folder to serve, with its config validated (cheap; fails fast before serving)."""
    model_dir = resolve_model_dir(given)
    ModelConfig.load(model_dir)
    return model_dir


def metrics_summary(metrics: MetricsSummary | None) -> dict[str, Any] | None:
    """Headline numbers of metrics.json: overall metrics per evaluated split."""
    return None if metrics is None else metrics.to_dict()


class ModelService:
    def __init__(self, settings: Settings, metrics: Metrics, audit: AuditLog | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.audit = audit
        self.state: State = "loading"
        self.failure: str | None = None
        self.model: LoadedModel | None = None
        self.batcher: MicroBatcher | None = None
        self._model_dir = Path(settings.model) if settings.model is not None else None
        self.default_profile = load_profile(settings.business) if settings.business is not None else None
        self._reload_lock = asyncio.Lock()
        self._load_task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin loading the model in the background (``ready`` once loaded and warmed up)."""
        self._model_dir = check_model_dir(self._model_dir)
        self._load_task = asyncio.get_running_loop().create_task(self._load_first(self._model_dir))

    async def _load_first(self, model_dir: Path) -> None:
        started = time.perf_counter()
        try:
            model = await asyncio.to_thread(
                load_model, model_dir, self.settings.threads, self.settings.window_cache
            )
        except Exception as exc:
            self.state, self.failure = "failed", f"the model in {model_dir} failed to load: {exc}"
            log.error("model load failed", extra={"event": {"model_dir": str(model_dir), "error": str(exc)}})
            return
        if self.state == "stopping":
            return
        self._serve(model)
        log.info("model ready", extra={"event": {"model": model.model_id, "seconds": _since(started)}})

    def _serve(self, model: LoadedModel) -> None:
        self.batcher = MicroBatcher(
            model.classifier,
            max_batch_size=self.settings.max_batch_size,
            max_wait_s=self.settings.max_wait_ms / 1000.0,
            max_queue=self.settings.max_queue,
            inference_batch_size=self._inference_batch_size(model.classifier),
            observe=self.metrics.observe_batch,
            profile=self.default_profile,
        )
        self.batcher.start()
        self._install(model)
        self.state, self.failure = "ready", None
        self.metrics.ready.set(1)

    async def wait_loaded(self) -> None:
        """Wait for the first load; RuntimeError if it failed."""
        if self._load_task is not None:
            await self._load_task
        if self.state == "failed":
            raise RuntimeError(self.failure)

    async def stop(self) -> None:
        """Refuse new work, finish what is queued and in flight."""
        self.state = "stopping"
        self.metrics.ready.set(0)
        if self._load_task is not None and not self._load_task.done():
            await self._load_task
        if self.batcher is not None:
            await self.batcher.stop()

    def _inference_batch_size(self, classifier: Classifier) -> int:
        if self.settings.inference_batch_size is not None:
            return self.settings.inference_batch_size
        return classifier.default_batch_size

    def _install(self, model: LoadedModel) -> None:
        self.model = model
        if self.batcher is not None:
            self.batcher.inference_batch_size = self._inference_batch_size(model.classifier)
            self.batcher.use(model.classifier)
        config = model.classifier.config
        self.metrics.model.info({"model_id": model.model_id, "precision": config.precision})
        self.metrics.watch_window_cache(model.classifier.window_cache)

    # -- requests --------------------------------------------------------------------------------------

    def require_ready(self) -> LoadedModel:
        if self.state != "ready" or self.model is None:
            detail = {
                "loading": "the model is still loading; retry in a moment (GET /readyz says when ready)",
                "failed": self.failure or "the model failed to load",
                "stopping": "the service is shutting down",
            }.get(self.state, "the service is not ready")
            raise ApiError(503, "not_ready", detail, headers={"Retry-After": "1"})
        return self.model

    async def classify(self, convs: list[Conversation], request_id: str | None) -> list[Prediction]:
        self.require_ready()
        assert self.batcher is not None
        self.metrics.queue_depth.set(self.batcher.queued)
        try:
            predictions = await self.batcher.classify(convs)
        except QueueFull as exc:
            raise ApiError(429, "queue_full", str(exc), headers={"Retry-After": "1"}) from None
        except BatcherClosed as exc:
            raise ApiError(503, "not_ready", str(exc), headers={"Retry-After": "1"}) from None
        for prediction in predictions:
            self.metrics.predictions.labels(prediction.label).inc()
        if self.audit is not None:
            self.audit.record(
                [Decision.of(c, p, request_id) for c, p in zip(convs, predictions, strict=True)]
            )
        return predictions

    # -- reload ----------------------------------------------------------------------------------------

    async def reload(self, model_dir: str | Path | None = None) -> tuple[LoadedModel, str]:
        """Load and warm ``model_dir`` (default: the folder served now), then swap it in.

        Returns the new model and the previous model id. Requests keep being served by the old model until
        the swap; a model that fails to load raises ApiError 422 and the old one stays.
        """
        async with self._reload_lock:
            if self.state not in ("ready", "failed"):
                raise ApiError(503, "not_ready", f"cannot reload while the service is {self.state}")
            previous = self.model.model_id if self.model is not None else "(none)"
            started = time.perf_counter()
            try:
                path = check_model_dir(model_dir if model_dir is not None else self._model_dir)
                model = await asyncio.to_thread(
                    load_model, path, self.settings.threads, self.settings.window_cache
                )
            except Exception as exc:
                self.metrics.reloads.labels("failed").inc()
                log.error("model reload failed", extra={"event": {"error": str(exc), "model": previous}})
                raise ApiError(
                    422, "invalid_model", f"reload failed, still serving {previous}: {exc}"
                ) from None
            if self.batcher is None:  # the first load had failed: start serving now
                self._serve(model)
            else:
                self._install(model)
            self._model_dir = path
            self.metrics.reloads.labels("ok").inc()
            log.info(
                "model reloaded",
                extra={"event": {"model": model.model_id, "previous": previous, "seconds": _since(started)}},
            )
            return model, previous


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
