"""Classify conversations with a scopeguard model: ``Classifier`` renders, batches, averages spans,
aggregates, calibrates and picks evidence; a ``classifier.backend.Backend`` runs the network (the ONNX
backend here, onnxruntime + tokenizers + numpy only; training plugs in a torch one).

The model scores every user and assistant turn in its context (see docs/RENDERING.md); a flow is
`general_assistance` when its most general bot reply crosses the threshold, so one general reply among
twenty business turns flips the flow instead of being averaged away. A conversation with no bot reply
is judged by its requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from classifier.backend import Backend, OnnxBackend
from classifier.calibration import calibrate
from classifier.compute import Compute, choose_compute, cpu_features, fixed_compute
from classifier.model_config import TOKENIZER_FILE, ModelConfig
from classifier.profile import ProfileRef, resolve_profile
from classifier.render import ConversationEncoder, Window
from classifier.schema import NEGATIVE_LABEL, POSITIVE_LABEL, BusinessProfile, Conversation
from classifier.window_cache import WindowCache

BOT_CHANNEL = 0
REQUEST_CHANNEL = 1
DEFAULT_MAX_BATCH_TOKENS = 4096
# A window is not padded by more than this share of its batch's width: a 180- and a 70-token window run
# as two calls, not as 2 x 180 tokens (measured 15% faster for a lone two-window live request; sorted
# archives, whose neighbouring windows have almost equal lengths, are unaffected).
MAX_PADDING_SHARE = 0.1
MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Evidence:
    turn: int
    role: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"turn": self.turn, "role": self.role, "score": round(self.score, 4)}


@dataclass(frozen=True)
class TurnLogits:
    """Raw (uncalibrated) logits of every scored turn of one conversation, and the flow logit."""

    turns: dict[int, tuple[str, float]]
    flow_logit: float
    judged_role: str  # "assistant" when bot replies decided, "user" when only requests could
    profile: ProfileRef | None = None  # the business profile the turns were read under


@dataclass(frozen=True)
class Prediction:
    id: str
    label: str
    score: float
    threshold: float
    model: str
    evidence: list[Evidence] = field(default_factory=list)
    turn_scores: dict[int, float] = field(default_factory=dict)
    profile: ProfileRef | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "score": round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "model": self.model,
            "evidence": [e.to_dict() for e in self.evidence],
            "profile": self.profile.to_dict() if self.profile is not None else None,
        }


def aggregate_turns(turns: dict[int, tuple[str, float]]) -> TurnLogits:
    """The flow logit: the most general bot reply; with no bot reply, the most general request."""
    bot = [logit for role, logit in turns.values() if role == "assistant"]
    if bot:
        return TurnLogits(turns=turns, flow_logit=max(bot), judged_role="assistant")
    requests = [logit for role, logit in turns.values() if role == "user"]
    if requests:
        return TurnLogits(turns=turns, flow_logit=max(requests), judged_role="user")
    # Only system/agent turns: nothing the bot did or was asked can be general assistance.
    return TurnLogits(turns=turns, flow_logit=-math.inf, judged_role="none")


def resolve_compute(config: ModelConfig, requested: str = "auto") -> Compute:
    """The product arithmetic of a model folder on this CPU (``classifier.compute.choose_compute``)."""
    return choose_compute(
        requested,
        precision=config.precision,
        weights_format=config.int8_weights_format,
        features=cpu_features(),
    )


class Classifier:
    """A model: its config, its tokenizer's rendering and a ``Backend`` that runs the network.

    ``Classifier.load`` opens a model folder with the ONNX backend; training builds one around its torch
    model (``training.torch_backend``): rendering, length batching, span means, aggregation, calibration
    and evidence are the same code for both. Thread-safe for concurrent ``classify`` calls when the
    backend is (onnxruntime sessions are).

    Business profiles (``classifier.profile``): a conversation's own (system turns, ``meta.business``)
    comes first; else the ``profile`` a call passes (``--business``, a request's ``business``); else the
    model folder's ``default_profile``.
    """

    def __init__(
        self,
        model_dir: Path | None,
        config: ModelConfig,
        backend: Backend,
        tokenizer: Tokenizer,
        *,
        window_cache: WindowCache | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.window_cache = window_cache
        self.config = config
        self.backend = backend
        self.encoder = ConversationEncoder(
            tokenizer, config.render, config.special_tokens.cls_id, config.special_tokens.sep_id
        )

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        threads: int | None = None,
        cache_windows: int = 0,
        allow_spinning: bool = True,
        compute: str = "auto",
    ) -> Classifier:
        """``cache_windows`` > 0 keeps that many window scores (see classifier.window_cache): for live
        re-checks of growing conversations; batch scoring of distinct conversations gains nothing.
        ``allow_spinning`` False for services (see ``classifier.backend.session_options``).
        ``compute``: the product arithmetic, "auto" (per CPU), "int8" or "fp32" (``resolve_compute``)."""
        model_dir = Path(model_dir)
        config = ModelConfig.load(model_dir)
        resolved = resolve_compute(config, compute)
        onnx_path = model_dir / config.onnx_file
        tok_path = model_dir / TOKENIZER_FILE
        for path in (onnx_path, tok_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found: the model folder {model_dir} is incomplete")
        backend = OnnxBackend.from_file(
            onnx_path,
            pad_id=config.special_tokens.pad_id,
            precision=config.precision,
            threads=threads,
            allow_spinning=allow_spinning,
            compute=resolved,
        )
        cache = WindowCache(cache_windows) if cache_windows > 0 else None
        return cls(model_dir, config, backend, Tokenizer.from_file(str(tok_path)), window_cache=cache)

    @property
    def model_id(self) -> str:
        return self.config.model_id

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def compute(self) -> Compute:
        """The product arithmetic of the backend (the graph's own for backends that do not say)."""
        return getattr(self.backend, "compute", fixed_compute(self.config.precision))

    @property
    def default_batch_size(self) -> int:
        return self.backend.exact_batch_size

    def calibrate(self, logit: float) -> float:
        return calibrate(logit, self.config.calibration)

    # -- raw scores -------------------------------------------------------------------------------

    def token_logits(self, windows: Sequence[Window]) -> list[np.ndarray]:
        """The backend's [len, 2] logits of every window of one batch."""
        if not windows:
            return []
        return self.backend.token_logits(windows)

    def turn_logits_many(
        self,
        convs: Sequence[Conversation],
        *,
        profile: BusinessProfile | None = None,
        batch_size: int | None = None,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        max_padding_share: float = MAX_PADDING_SHARE,
    ) -> list[TurnLogits]:
        """Raw turn and flow logits of many conversations, batched by window length.

        ``profile``: the business profile of conversations that carry none (class docstring);
        ``batch_size`` None = ``default_batch_size`` (exact for the backend); ``max_padding_share``: see
        ``length_batches`` (1.0 lets every batch be padded to its longest window).
        """
        batch_size = batch_size or self.default_batch_size
        fallback = profile if profile is not None else self.config.default_profile
        profiles = [resolve_profile(conv, fallback) for conv in convs]
        per_conv = self.encoder.encode_many(convs, fallback.text if fallback is not None else None)
        turns: list[dict[int, tuple[str, float]]] = [{} for _ in convs]
        items: list[tuple[int, Window]] = []
        cache = self.window_cache
        for ci, windows in enumerate(per_conv):
            for window in windows:
                cached = cache.get(window, self.model_id) if cache is not None else None
                if cached is None:
                    items.append((ci, window))
                else:
                    record_spans(window, cached, turns[ci])
        for batch in length_batches(items, batch_size, max_batch_tokens, max_padding_share):
            for (ci, window), logits in zip(batch, self.token_logits([w for _, w in batch]), strict=True):
                values = span_logits(window, logits)
                record_spans(window, values, turns[ci])
                if cache is not None:
                    cache.put(window, self.model_id, values)
        return [
            replace(aggregate_turns(t), profile=p.ref if p is not None else None)
            for t, p in zip(turns, profiles, strict=True)
        ]

    # -- predictions ------------------------------------------------------------------------------

    def classify(
        self,
        convs: Sequence[Conversation],
        *,
        profile: BusinessProfile | None = None,
        batch_size: int | None = None,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    ) -> list[Prediction]:
        raw = self.turn_logits_many(
            convs, profile=profile, batch_size=batch_size, max_batch_tokens=max_batch_tokens
        )
        return [self._predict(conv, r) for conv, r in zip(convs, raw, strict=True)]

    def classify_one(self, conv: Conversation, *, profile: BusinessProfile | None = None) -> Prediction:
        return self.classify([conv], profile=profile)[0]

    def _predict(self, conv: Conversation, raw: TurnLogits) -> Prediction:
        score = self.calibrate(raw.flow_logit)
        turn_scores = {turn: self.calibrate(logit) for turn, (_, logit) in raw.turns.items()}
        label = POSITIVE_LABEL if score >= self.threshold else NEGATIVE_LABEL
        return Prediction(
            id=conv.id,
            label=label,
            score=score,
            threshold=self.threshold,
            model=self.model_id,
            evidence=self._evidence(raw, turn_scores),
            turn_scores=turn_scores,
            profile=raw.profile,
        )

    def _evidence(self, raw: TurnLogits, turn_scores: dict[int, float]) -> list[Evidence]:
        """The judged turns that most raise the score: all above the threshold, else the top one."""
        judged = [
            Evidence(turn=t, role=role, score=turn_scores[t])
            for t, (role, _) in raw.turns.items()
            if role == raw.judged_role
        ]
        judged.sort(key=lambda e: (-e.score, e.turn))
        above = [e for e in judged if e.score >= self.threshold]
        return (above or judged[:1])[:MAX_EVIDENCE]


def span_logits(window: Window, logits: np.ndarray) -> tuple[float, ...]:
    """The logit of every owned span of ``window``: its tokens' mean on the span role's channel."""
    # Prefix sums make each span mean O(1), whatever the span length.
    cumsum = np.concatenate([np.zeros((1, logits.shape[1]), dtype=np.float64), np.cumsum(logits, axis=0)])
    values = []
    for span in window.spans:
        channel = BOT_CHANNEL if span.role == "assistant" else REQUEST_CHANNEL
        total = cumsum[span.end, channel] - cumsum[span.start, channel]
        values.append(float(total / (span.end - span.start)))
    return tuple(values)


def record_spans(window: Window, values: tuple[float, ...], out: dict[int, tuple[str, float]]) -> None:
    """Store ``span_logits(window, ...)`` as ``out[turn] = (role, logit)``."""
    for span, value in zip(window.spans, values, strict=True):
        out[span.turn] = (span.role, value)


def length_batches(
    items: list[tuple[int, Window]],
    batch_size: int,
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    max_padding_share: float = MAX_PADDING_SHARE,
) -> Iterable[list[tuple[int, Window]]]:
    """``(owner, window)`` items sorted by window length, cut into batches bounded in count, in padded
    tokens and in padding share (no window padded by more than ``max_padding_share`` of its batch width)."""
    ordered = sorted(items, key=lambda item: len(item[1]), reverse=True)
    batch: list[tuple[int, Window]] = []
    width = 0
    for item in ordered:
        new_width = max(width, len(item[1]))
        too_short = new_width - len(item[1]) > max_padding_share * new_width
        full = len(batch) >= batch_size or new_width * (len(batch) + 1) > max_batch_tokens
        if batch and (full or too_short):
            yield batch
            batch, new_width = [], len(item[1])
        batch.append(item)
        width = new_width
    if batch:
        yield batch
