"""The models behind the API: loading and warm-up, readiness, classification through the micro-batchers,
hot reload, audit and prediction metrics.

A service holds the default model and, when ``live_model`` is configured, a live one; each request picks
one by name (``serve.settings.ModelName``). Each model is a ``ModelSlot`` with its own micro-batcher (queue
and inference thread) and window cache, so a live check never waits behind an audit batch of the other
model and a cached score is only ever the score of the model that gave it.

Lifecycle: ``start()`` loads and warms the models in a thread while the process already answers
``/healthz``; ``ready`` turns true once every model ran a warm-up inference. ``reload()`` loads and warms
the new models next to the old ones and swaps them in between two micro-batches. ``stop()`` refuses new
work and finishes what is queued.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from classifier.inference import Classifier, Prediction, resolve_compute
from classifier.model_config import PROVENANCE_FILE, ModelConfig
from classifier.model_metrics import MetricsSummary
from classifier.model_path import resolve_model_dir
from classifier.profile import load_profile
from classifier.schema import Conversation, Turn
from classifier.window_cache import WindowCache
from serve.audit import AuditLog, Decision
from serve.batcher import BatcherClosed, MicroBatcher, QueueFull
from serve.conversations import Job, unknown_model
from serve.errors import ApiError
from serve.metrics import Metrics, ModelMetrics
from serve.settings import DEFAULT_MODEL, LIVE_MODEL, LIVE_MODEL_ENV_VAR, ModelName, Settings

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


def load_model(
    model_dir: Path, threads: int | None, cache_windows: int = 0, compute: str = "auto"
) -> LoadedModel:
    """Load a model folder and run a warm-up inference (blocking: call it in a thread)."""
    # onnxruntime threads that spin between requests take the cores the event loop needs: measured at
    # concurrency 1 on 2 cores, p50 99-104 -> 80 ms and server CPU 184-200 -> 148 ms a request
    classifier = Classifier.load(model_dir, threads=threads, allow_spinning=False, compute=compute)
    classifier.classify(WARMUP_CONVERSATIONS)  # the first run allocates; requests should not pay for it
    if cache_windows:  # after the warm-up, so the cache holds only requests' windows; one per model
        classifier.window_cache = WindowCache(cache_windows)
    return LoadedModel(
        classifier=classifier,
        model_dir=model_dir,
        metrics=MetricsSummary.load(model_dir),
        provenance=_read_json(model_dir / PROVENANCE_FILE),
        loaded_at=datetime.now(UTC),
    )


def check_model_dir(given: Path | str | None, name: ModelName = DEFAULT_MODEL, compute: str = "auto") -> Path:
    """The folder of the model served as ``name``, with its config validated and ``compute`` possible for
    it (cheap; fails fast before serving). The default model falls back like every command's ``--model``;
    the live one has no fallback."""
    model_dir = resolve_model_dir(given) if name == DEFAULT_MODEL else _live_model_dir(given)
    resolve_compute(ModelConfig.load(model_dir), compute)
    return model_dir


def _live_model_dir(given: Path | str | None) -> Path:
    path = Path(given) if given is not None else None
    if path is None or not path.is_dir():
        raise FileNotFoundError(
            f"{given} (--live-model, ${LIVE_MODEL_ENV_VAR}) is not a model folder: pass --live-model DIR "
            "holding scopeguard.json, tokenizer.json and the ONNX file, or leave it out to serve one model"
        )
    return path


@dataclass
class ModelSlot:
    """One model the service holds, under the name requests pick it by, with its own micro-batcher."""

    name: ModelName
    model_dir: Path
    metrics: ModelMetrics
    model: LoadedModel | None = None
    batcher: MicroBatcher | None = None


@dataclass(frozen=True)
class Reloaded:
    """The models a reload swapped in and the ids they replaced, by name."""

    models: dict[ModelName, LoadedModel]
    previous: dict[ModelName, str]


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
        self.slots: dict[ModelName, ModelSlot] = {}
        self.default_profile = load_profile(settings.business) if settings.business is not None else None
        self._reload_lock = asyncio.Lock()
        self._load_task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def model_names(self) -> tuple[ModelName, ...]:
        return self.settings.model_names

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Check every model folder, then load them in the background (``ready`` once all are warm)."""
        given = {DEFAULT_MODEL: self.settings.model, LIVE_MODEL: self.settings.live_model}
        self.slots = {
            name: ModelSlot(
                name, check_model_dir(given[name], name, self.settings.compute), self.metrics.for_model(name)
            )
            for name in self.model_names
        }
        self._load_task = asyncio.get_running_loop().create_task(self._load_first())

    async def _load_first(self) -> None:
        for slot in self.slots.values():
            started = time.perf_counter()
            try:
                model = await self._load(slot.model_dir)
            except Exception as exc:
                self.state = "failed"
                self.failure = f"{self._the(slot.name)} in {slot.model_dir} failed to load: {exc}"
                failed = {"model_dir": str(slot.model_dir), "error": str(exc)}
                log.error("model load failed", extra={"event": failed})
                return
            if self.state == "stopping":
                return
            self._serve(slot, model)
            ready = {**self._naming(slot.name), "model": model.model_id, "seconds": _since(started)}
            log.info("model ready", extra={"event": ready})
        self.state, self.failure = "ready", None
        self.metrics.ready.set(1)

    async def _load(self, model_dir: Path) -> LoadedModel:
        return await asyncio.to_thread(
            load_model, model_dir, self.settings.threads, self.settings.window_cache, self.settings.compute
        )

    def _serve(self, slot: ModelSlot, model: LoadedModel) -> None:
        slot.batcher = MicroBatcher(
            model.classifier,
            max_batch_size=self.settings.max_batch_size,
            max_wait_s=self.settings.max_wait_ms / 1000.0,
            max_queue=self.settings.max_queue,
            inference_batch_size=self._inference_batch_size(model.classifier),
            observe=slot.metrics.observe_batch,
            profile=self.default_profile,
        )
        slot.batcher.start()
        self._install(slot, model)

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
        for slot in self.slots.values():
            if slot.batcher is not None:
                await slot.batcher.stop()

    def _inference_batch_size(self, classifier: Classifier) -> int:
        if self.settings.inference_batch_size is not None:
            return self.settings.inference_batch_size
        return classifier.default_batch_size

    def _install(self, slot: ModelSlot, model: LoadedModel) -> None:
        slot.model, slot.model_dir = model, model.model_dir
        if slot.batcher is not None:
            slot.batcher.inference_batch_size = self._inference_batch_size(model.classifier)
            slot.batcher.use(model.classifier)
        clf = model.classifier
        slot.metrics.serving(model.model_id, clf.config.precision, clf.compute, clf.window_cache)

    # -- naming (a one-model service speaks of "the model", as it always did) ----------------------------

    def _the(self, name: ModelName) -> str:
        return "the model" if len(self.slots) == 1 else f"the {name} model"

    def _naming(self, name: ModelName) -> dict[str, str]:
        return {} if len(self.slots) == 1 else {"name": name}

    def _serving(self, ids: Mapping[ModelName, str]) -> str:
        if len(ids) == 1:
            return next(iter(ids.values()))
        return " and ".join(f"{model_id} ({name})" for name, model_id in ids.items())

    # -- requests --------------------------------------------------------------------------------------

    def require_ready(self, name: str = DEFAULT_MODEL) -> LoadedModel:
        """The model served as ``name``; ApiError 503 while the service is not ready, 422 for a name it
        does not hold."""
        if self.state != "ready":
            detail = {
                "loading": "the model is still loading; retry in a moment (GET /readyz says when ready)",
                "failed": self.failure or "the model failed to load",
                "stopping": "the service is shutting down",
            }.get(self.state, "the service is not ready")
            raise ApiError(503, "not_ready", detail, headers={"Retry-After": "1"})
        model = self._slot(name).model
        assert model is not None  # every slot has a model once the service is ready
        return model

    def model_ids(self) -> dict[ModelName, str]:
        """The id of every model served, by name (empty before the first load)."""
        return {name: slot.model.model_id for name, slot in self.slots.items() if slot.model is not None}

    def _slot(self, name: str) -> ModelSlot:
        if name not in self.slots:
            raise unknown_model(name, self.model_names)
        return self.slots[cast(ModelName, name)]

    async def classify(self, jobs: Sequence[Job], request_id: str | None) -> list[Prediction]:
        """Predictions in the order of ``jobs``, each by the model its job names; the models work in
        parallel, each through its own micro-batcher."""
        self.require_ready()
        groups: dict[ModelName, list[int]] = {}
        for index, job in enumerate(jobs):
            groups.setdefault(job.model, []).append(index)
        answers = await asyncio.gather(
            *(
                self._classify_on(self._slot(name), [jobs[i].conv for i in group])
                for name, group in groups.items()
            )
        )
        by_index = {
            index: prediction
            for group, predictions in zip(groups.values(), answers, strict=True)
            for index, prediction in zip(group, predictions, strict=True)
        }
        predictions = [by_index[index] for index in range(len(jobs))]
        if self.audit is not None:
            self.audit.record(
                [Decision.of(job.conv, p, request_id) for job, p in zip(jobs, predictions, strict=True)]
            )
        return predictions

    async def _classify_on(self, slot: ModelSlot, convs: list[Conversation]) -> list[Prediction]:
        assert slot.batcher is not None
        slot.metrics.queued(slot.batcher.queued)
        try:
            predictions = await slot.batcher.classify(convs)
        except QueueFull as exc:
            raise ApiError(429, "queue_full", str(exc), headers={"Retry-After": "1"}) from None
        except BatcherClosed as exc:
            raise ApiError(503, "not_ready", str(exc), headers={"Retry-After": "1"}) from None
        for prediction in predictions:
            slot.metrics.predicted(prediction.label)
        return predictions

    # -- reload ----------------------------------------------------------------------------------------

    async def reload(self, model_dirs: Mapping[ModelName, str | Path] | None = None) -> Reloaded:
        """Load and warm every model again (from ``model_dirs[name]`` where given, else the folder served
        now), then swap them in together.

        Requests keep being served by the old models until the swap; if any model fails to load, ApiError
        422 is raised and every old model stays.
        """
        async with self._reload_lock:
            if self.state not in ("ready", "failed"):
                raise ApiError(503, "not_ready", f"cannot reload while the service is {self.state}")
            previous = {
                name: slot.model.model_id if slot.model is not None else "(none)"
                for name, slot in self.slots.items()
            }
            started = time.perf_counter()
            loaded: dict[ModelName, LoadedModel] = {}
            for name, slot in self.slots.items():
                given = (model_dirs or {}).get(name, slot.model_dir)
                try:
                    loaded[name] = await self._load(check_model_dir(given, name, self.settings.compute))
                except Exception as exc:
                    raise self._reload_failed(name, previous, exc) from None
            for name, model in loaded.items():
                slot = self.slots[name]
                if slot.batcher is None:  # the first load had failed: start serving now
                    self._serve(slot, model)
                else:
                    self._install(slot, model)
            if self.state == "failed":  # the first load had failed: every model serves now
                self.state, self.failure = "ready", None
                self.metrics.ready.set(1)
            self.metrics.reloads.labels("ok").inc()
            for name, model in loaded.items():
                event = {**self._naming(name), "model": model.model_id, "previous": previous[name]}
                log.info("model reloaded", extra={"event": {**event, "seconds": _since(started)}})
            return Reloaded(models=loaded, previous=previous)

    def _reload_failed(self, name: ModelName, previous: dict[ModelName, str], exc: Exception) -> ApiError:
        self.metrics.reloads.labels("failed").inc()
        event = {**self._naming(name), "error": str(exc), "model": previous[name]}
        log.error("model reload failed", extra={"event": event})
        which = "" if len(self.slots) == 1 else f"{self._the(name)}: "
        return ApiError(
            422, "invalid_model", f"reload failed, still serving {self._serving(previous)}: {which}{exc}"
        )


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
