"""``metrics.json``: what a training run measured about the model folder it wrote, as pydantic models.

Written by ``training.train`` (from ``training.evaluate``'s numbers and ``training.package``'s precision
checks), read back by the service (``GET /v1/model``) and the model card. Optional fields are those a run
writes only in some cases (no labels, no bot turn, a precision not tried); ``to_dict`` leaves out what a
run did not write, so a file read and written again keeps its fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from classifier.model_config import METRICS_FILE

_M = TypeVar("_M", bound=BaseModel)


def _load(model: type[_M], model_dir: str | Path) -> _M | None:
    path = Path(model_dir) / METRICS_FILE
    if not path.is_file():
        return None
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path} is not a valid metrics file ({exc}); fix or remove it") from None


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfusionMatrix(_Part):
    labels: list[str]
    matrix: list[list[int]]  # rows true, columns predicted, in ``labels`` order


class GroupMetrics(_Part):
    """Metrics of one breakdown group (a language, domain, category or source)."""

    n: int
    positives: int
    accuracy: float | None  # None for an empty set
    macro_f1: float | None  # over the labels present in the set
    general_precision: float
    general_recall: float
    general_f1: float


class BinaryMetrics(GroupMetrics):
    """Flow-level metrics of a set at one threshold (``training.evaluate.binary_metrics``)."""

    roc_auc: float | None  # None when the set holds one label only
    pr_auc: float | None
    ece: float
    confusion_matrix: ConfusionMatrix


class EvidenceAccuracy(_Part):
    """Share of annotated general flows whose top-scored bot turn is one of ``meta.general_turns``."""

    n: int
    accuracy: float | None


class PairAccuracy(_Part):
    pairs: int
    accuracy: float


class ScopePairMetrics(PairAccuracy):
    """Contrastive scope pairs (one exchange under two business profiles, opposite labels): the share
    with both members right (``training.evaluate.scope_pair_accuracy``)."""

    incomplete: int
    by_lang: dict[str, PairAccuracy]


class SplitMetrics(_Part):
    """One evaluated set (``training.evaluate.evaluate_flows``): overall and by breakdown."""

    flows: int
    unlabelled: int
    threshold: float
    overall: BinaryMetrics
    ece_uncalibrated: float
    evidence: EvidenceAccuracy
    by_lang: dict[str, GroupMetrics] | None = None
    by_domain: dict[str, GroupMetrics] | None = None
    by_category: dict[str, GroupMetrics] | None = None
    by_source: dict[str, GroupMetrics] | None = None
    scope_pairs: ScopePairMetrics | None = None


class ThresholdPolicy(_Part):
    """How the threshold was chosen on validation (``training.calibration.choose_threshold``)."""

    policy: str
    reason: str | None = None
    target_precision: float | None = None
    validation_precision: float | None = None
    validation_recall: float | None = None


class CalibrationReport(_Part):
    method: str
    a: float
    b: float
    note: str | None
    validation_ece_before: float
    validation_ece_after: float


class PrecisionCheck(_Part):
    """A candidate graph (int8 variant, int8-weights, int8 or fp16 storage) against fp32's decisions."""

    flows: int
    label_agreement: float
    max_abs_flow_logit_diff: float
    mean_abs_flow_logit_diff: float
    # macro-F1 (0-100) of the fp32 graph and of the candidate ("int8" for history: every candidate)
    macro_f1_fp32: float | None = None
    macro_f1_int8: float | None = None
    macro_f1_loss_points: float | None  # None without labels
    passes: bool
    reasons: list[str]
    variant: str | None = None
    seconds: float | None = None
    fp32_seconds: float | None = None
    size_bytes: int | None = None


class ExportReport(_Part):
    """The checked ONNX export and the measured choice of precision (``training.package``)."""

    exporters: dict[str, dict[str, Any]]
    exporter: str
    parity_max_abs_diff: float
    weights_sha256: str
    fp32_seconds: float
    check_flows: int
    selection_flows: int
    int8_variants: list[PrecisionCheck]
    precision_requested: str
    int8_weights: PrecisionCheck | None = None
    int8_storage: PrecisionCheck | None = None  # fp32 compute, weights stored as int8 blocks
    fp16_weights: PrecisionCheck | None = None
    precision_reason: str
    int8_checks: list[PrecisionCheck]
    precision: str


class Distillation(_Part):
    """What a distilled student learnt from (``training.distill``): its teacher and the layers it kept."""

    teacher_model_id: str | None  # None when the teacher folder is outside <checkpoint_dir>/<model id>/
    teacher_layers: int
    layers: list[int]  # teacher encoder layers the student kept (0-based)
    alpha: float
    temperature: float
    int8_aware: bool = False  # trained with dynamic int8's rounding (training.int8_aware)


class TrainingSummary(_Part):
    steps: int
    seconds: float
    steps_per_second: float
    windows_seen: int
    train_conversations: int
    train_conversations_available: int
    train_windows: int
    mil_conversations: int
    pair_conversations: int | None = None  # scope-pair members (absent before the pair loss existed)
    first_loss: float | None
    final_loss_mean_last_50: float | None
    distillation: Distillation | None = None  # only in a student's metrics.json


class ModelMetrics(_Part):
    """The whole of ``metrics.json``."""

    model_id: str
    precision: str
    threshold: float
    threshold_policy: ThresholdPolicy
    calibration: CalibrationReport
    splits: dict[str, SplitMetrics]
    baselines: dict[str, dict[str, BinaryMetrics]]
    export: ExportReport
    training: TrainingSummary
    timings_seconds: dict[str, float]

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelMetrics | None:
        """The folder's metrics.json, None when it has none; ValueError naming the file when invalid."""
        return _load(cls, model_dir)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (NaN kept as float) of the fields the run wrote."""
        return self.model_dump(exclude_unset=True)


# -- the headline numbers the service shows (GET /v1/model) ---------------------------------------------


class HeadlineMetrics(BaseModel):
    """The overall numbers of one split that the service reports; None where the file has none."""

    model_config = ConfigDict(extra="ignore")

    n: int | None = None
    accuracy: float | None = None
    macro_f1: float | None = None
    general_precision: float | None = None
    general_recall: float | None = None
    general_f1: float | None = None
    roc_auc: float | None = None
    pr_auc: float | None = None
    ece: float | None = None


class SplitHeadline(BaseModel):
    model_config = ConfigDict(extra="ignore")

    overall: HeadlineMetrics | None = None


class MetricsSummary(BaseModel):
    """What the service reads of ``metrics.json``: precision, threshold and each split's overall numbers.

    Lenient (a hand-trimmed or older file still serves): everything is optional and other fields are
    ignored; ``ModelMetrics`` is the full, strict shape a training run writes.
    """

    model_config = ConfigDict(extra="ignore")

    precision: str | None = None
    threshold: float | None = None
    splits: dict[str, SplitHeadline] | None = None

    @classmethod
    def load(cls, model_dir: str | Path) -> MetricsSummary | None:
        return _load(cls, model_dir)

    def to_dict(self) -> dict[str, Any]:
        """precision and threshold when the file has them; every split's headline numbers."""
        out: dict[str, Any] = self.model_dump(include={"precision", "threshold"}, exclude_unset=True)
        if self.splits is not None:
            out["splits"] = {
                name: split.overall.model_dump() for name, split in self.splits.items() if split.overall
            }
        return out
