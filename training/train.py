"""One training run, end to end: gated data -> fine-tuned turn scorer -> calibrated, checked model folder.

Steps: provenance gate and encoding (``training.data``), deterministic fine-tuning (``training.loop``;
with a ``student`` section instead a student distilled from a trained teacher, ``training.distill``),
validation flow logits, Platt calibration and threshold (``training.calibration``), checked ONNX export
and measured int8 quantisation (``training.package``), evaluation of the *shipped* ONNX model on every
split and on realdev (``training.evaluate``), baselines, plots, metrics.json, provenance.json,
MODEL_CARD.md and a copy of the config. The folder is assembled next to ``output_dir`` and moved into
place at the end, so a half-written model is never picked up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from classifier.calibration import calibrate_array
from classifier.inference import Classifier
from classifier.manifest import ManifestEntry, gate_splits, manifest_digest
from classifier.model_config import (
    METRICS_FILE,
    MODEL_CARD_FILE,
    PROVENANCE_FILE,
    TOKENIZER_FILE,
    BaseModelInfo,
    Calibration,
    SpecialTokens,
    special_tokens_of,
)
from classifier.model_metrics import ModelMetrics
from classifier.render import ConversationEncoder
from classifier.schema import POSITIVE_LABEL, Conversation
from training.calibration import choose_threshold, fit_platt
from training.config import ThresholdPolicy, TrainConfig
from training.data import check_disjoint, encode_dataset, load_conversations
from training.distill import DistillLoss, Teacher, build_student, load_teacher
from training.evaluate import binary_metrics, evaluate_flows, summary_line
from training.int8_aware import make_int8_aware, strip_int8_aware
from training.loop import (
    Example,
    FitResult,
    LossFn,
    check_autocast,
    deterministic,
    examples_from_dataset,
    fit,
    sample_indices,
    subsample,
    weighted_copies,
    with_pairs_repeated,
)
from training.model import CHECKPOINT_SCORER_DIR, TurnScorer
from training.package import DecisionAgreementRule, FolderResult, write_model_folder
from training.realdev import load_realdev_profiles, with_profiles

log = logging.getLogger(__name__)
REALDEV_SPLIT_PREFIX = "realdev/"
REALDEV_PROFILED_PREFIX = "realdev+profile/"


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    metrics: dict[str, Any]
    provenance: dict[str, Any]


def _labels(convs: list[Conversation]) -> np.ndarray:
    return np.array([int(c.label == POSITIVE_LABEL) for c in convs], dtype=int)


def git_state(repo: Path = Path(".")) -> dict[str, Any]:
    """Commit and dirtiness of the working tree (read-only git commands; None outside a repository)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


class Stopwatch:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._start = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.stages[name] = round(now - self._start, 2)
        self._start = now


def load_splits(config: TrainConfig) -> tuple[dict[str, list[Conversation]], dict[str, list[ManifestEntry]]]:
    """Conversations of every configured split, each file through the provenance gate (the own splits
    through the gate of their own manifest, see ``with_own_data``)."""
    data = config.data
    splits = (*data.train_splits, *data.validation_splits, *data.test_splits)
    main = [s for s in splits if not s.startswith(OWN_PREFIX)]
    entries = gate_splits(data.manifest, main)
    convs = {split: load_conversations([e.path for e in entries[split]]) for split in main}
    own_convs, own_entries = load_own(config)
    for split in splits:
        if split.startswith(OWN_PREFIX):
            convs[split], entries[split] = own_convs.get(split, []), own_entries
    check_disjoint(convs)
    return convs, entries


OWN_PREFIX = "own/"
OWN_PARTS = ("train", "validation", "test")


def own_part(conv_id: str, validation_share: float, test_share: float) -> str:
    """train, validation or test for one own conversation: a hash of its id, stable as data is added."""
    digest = hashlib.sha256(f"scopeguard-own-split\0{conv_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < validation_share:
        return "validation"
    return "test" if u < validation_share + test_share else "train"


def load_own(config: TrainConfig) -> tuple[dict[str, list[Conversation]], list[ManifestEntry]]:
    """The reviewed conversations split by conversation into ``own/train|validation|test`` (empty parts
    are left out); nothing when ``data.own`` is off or its manifest does not exist."""
    own = config.data.own
    if own is None or not Path(own.manifest).is_file():
        return {}, []
    entries = gate_splits(own.manifest, [own.split])[own.split]
    parts: dict[str, list[Conversation]] = {}
    for conv in load_conversations([e.path for e in entries]):
        part = own_part(conv.id, own.validation_share, own.test_share)
        parts.setdefault(f"{OWN_PREFIX}{part}", []).append(conv)
    return parts, entries


def with_own_data(config: TrainConfig) -> TrainConfig:
    """``config`` with the non-empty own splits added to the train, validation and test splits (the
    saved config copy lists them, so it repeats the run); unchanged without own data."""
    parts, _ = load_own(config)
    data = config.data
    roles = {"train": data.train_splits, "validation": data.validation_splits, "test": data.test_splits}
    update = {}
    for part in OWN_PARTS:
        name = f"{OWN_PREFIX}{part}"
        if name in parts and name not in roles[part]:
            update[f"{part}_splits"] = (*roles[part], name)
    if not update:
        return config
    return config.model_copy(update={"data": data.model_copy(update=update)})


def own_weighted(examples: list[Example], weight: float, seed: int) -> list[Example]:
    """Each example ``int(weight)`` times, plus a seeded share ``weight - int(weight)`` once more."""
    whole, extra = weighted_copies(len(examples), weight, seed)
    return [e for e in examples for _ in range(whole)] + [examples[i] for i in extra]


def load_realdev(
    directory: Path | None, max_flows: int | None, seed: int, profiles_file: Path | None = None
) -> dict[str, list[Conversation]]:
    """Evaluation-only real conversations, one set per file (never trained or tuned on), sampled; with
    ``profiles_file`` each set once more under its sources' business profiles (training.realdev)."""
    if directory is None:
        return {}
    if not directory.is_dir():
        # Optional by design (a company's machine has no realdev), but a run meant to report it must not
        # lose it quietly: metrics.json and the card then simply have no realdev rows.
        log.warning(
            "realdev directory %s not found: realdev is not evaluated in this run", directory.resolve()
        )
        return {}
    profiles = load_realdev_profiles(profiles_file) if profiles_file is not None else None
    sets = {}
    for path in sorted([*directory.glob("*.jsonl"), *directory.glob("*.jsonl.gz")]):
        convs = load_conversations([path])
        if max_flows is not None and len(convs) > max_flows:
            convs = [convs[i] for i in sample_indices(len(convs), max_flows, seed)]
        name = path.name.removesuffix(".gz").removesuffix(".jsonl")
        sets[f"{REALDEV_SPLIT_PREFIX}{name}"] = convs
        if profiles is not None:
            sets[f"{REALDEV_PROFILED_PREFIX}{name}"] = with_profiles(convs, profiles)
    return sets


def _progress_callback(config: TrainConfig, total_hint: int):
    """A rich progress bar with ETA (or periodic log lines when disabled); returns (callback, closer)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]train[/] loss {task.fields[loss]:.4f}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.2f} steps/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        disable=not config.progress,
        transient=False,
    )
    task = progress.add_task("train", total=total_hint, loss=float("nan"), rate=0.0)
    start = time.perf_counter()
    ema: list[float] = []

    def on_step(step: int, total: int, loss: float) -> None:
        if loss == loss:  # not NaN
            ema.append(loss if not ema else 0.98 * ema[-1] + 0.02 * loss)
        rate = step / max(time.perf_counter() - start, 1e-9)
        progress.update(task, completed=step, total=total, loss=ema[-1] if ema else float("nan"), rate=rate)
        if step in (10, 50) or step % 200 == 0 or step == total:
            log.info("step %d/%d loss %.4f %.2f steps/s, ETA %.0f s", step, total, ema[-1] if ema else
                     float("nan"), rate, (total - step) / rate if rate else float("nan"))  # fmt: skip

    return on_step, progress


def run_training(config: TrainConfig) -> TrainResult:
    """Run the whole pipeline of the module docstring and return the written model folder."""
    check_autocast(config.optim)
    config = with_own_data(config)
    with deterministic(config.seed, config.threads):
        return _run(config)


def _run(config: TrainConfig) -> TrainResult:
    watch = Stopwatch()
    prepared = prepare(config)
    watch.lap("data")
    teacher: Teacher | None = None
    if config.student is None:
        model, fitted = fit_scorer(config, prepared)
    else:
        model, fitted, teacher = fit_student(config, prepared)
    watch.lap("train")
    packaged = package(config, prepared, model)
    watch.lap("export")
    splits, scored = evaluate_splits(config, prepared, packaged)
    watch.lap("evaluate")
    baselines = run_baselines(config, prepared.base_dir, prepared.convs, prepared.realdev)
    watch.lap("baselines")
    return write_run(config, prepared, packaged, fitted, splits, scored, baselines, watch, teacher)


@dataclass(frozen=True)
class Prepared:
    """The gated, encoded data of a run and what it was read with."""

    started: datetime
    git: dict[str, Any]
    base_dir: Path
    tokenizer: Tokenizer
    special: SpecialTokens
    convs: dict[str, list[Conversation]]
    entries: dict[str, list[ManifestEntry]]
    realdev: dict[str, list[Conversation]]
    train_all: list[Example]
    train_examples: list[Example]

    def validation(self, config: TrainConfig) -> list[Conversation]:
        return [c for s in config.data.validation_splits for c in self.convs[s]]


def prepare(config: TrainConfig) -> Prepared:
    """Base tokenizer, every split through the provenance gate, the training windows (subsampled)."""
    started = datetime.now(UTC)
    git = git_state()
    base_dir = config.base_model.locate()
    tokenizer = Tokenizer.from_file(str(base_dir / TOKENIZER_FILE))
    special = special_tokens_of(tokenizer)
    encoder = ConversationEncoder(tokenizer, config.render, special.cls_id, special.sep_id)
    convs, entries = load_splits(config)
    realdev = load_realdev(
        config.data.realdev_dir, config.data.realdev_max_flows, config.seed, config.data.realdev_profiles
    )
    encoded: dict[str, list[Example]] = {}
    for split in config.data.train_splits:
        ds = encode_dataset(
            convs[split],
            encoder,
            cache_dir=config.data.cache_dir,
            name=split,
            sources=[e.sha256 for e in entries[split]] + ([split] if split.startswith(OWN_PREFIX) else []),
        )
        encoded[split] = examples_from_dataset(ds)
    own_train = f"{OWN_PREFIX}train"
    train_all = [e for s in config.data.train_splits if s != own_train for e in encoded[s]]
    sampled = subsample(train_all, config.optim.max_train_windows, config.seed)
    train_examples = with_pairs_repeated(sampled, config.optim.pair_repeat, config.seed)
    if own_train in encoded and config.data.own is not None:  # never subsampled away; weighted instead
        own_examples = own_weighted(encoded[own_train], config.data.own.weight, config.seed)
        train_all = [*train_all, *encoded[own_train]]
        train_examples = [*train_examples, *own_examples]
    return Prepared(started, git, base_dir, tokenizer, special, convs, entries, realdev, train_all,
                    train_examples)  # fmt: skip


def fit_scorer(config: TrainConfig, prepared: Prepared) -> tuple[TurnScorer, FitResult]:
    """The pretrained encoder with a fresh head, fine-tuned on the training windows."""
    torch.manual_seed(config.seed)
    model = TurnScorer.from_pretrained(prepared.base_dir, dropout=config.optim.dropout)
    return model, _fit(config, prepared, model)


def _fit(
    config: TrainConfig, prepared: Prepared, model: TurnScorer, loss_fn: LossFn | None = None
) -> FitResult:
    """``training.loop.fit`` on the run's training windows, with its progress display."""
    on_step, progress = _progress_callback(config, total_hint=1)
    with progress:
        return fit(model, prepared.train_examples, config.optim, pad_id=prepared.special.pad_id,
                   seed=config.seed, on_step=on_step, loss_fn=loss_fn)  # fmt: skip


def fit_student(config: TrainConfig, prepared: Prepared) -> tuple[TurnScorer, FitResult, Teacher]:
    """The teacher's ``student.layers`` (training.distill), trained on the labels and the teacher's scores."""
    distill = config.student
    if distill is None:
        raise ValueError("fit_student needs a config with a student section")
    teacher = load_teacher(distill, config.checkpoint_dir)
    torch.manual_seed(config.seed)
    model = build_student(teacher.model, distill.layers, dropout=config.optim.dropout)
    if distill.int8_aware:
        make_int8_aware(model)
    loss_fn = DistillLoss(
        teacher.model, distill.alpha, distill.temperature, config.optim.mil_weight, config.optim.pair_weight
    )
    fitted = _fit(config, prepared, model, loss_fn)
    if distill.int8_aware:
        strip_int8_aware(model)  # a plain TurnScorer again: onnxruntime does the rounding it learnt
    return model, fitted, teacher


def model_name(config: TrainConfig) -> str:
    """The name part of the model id: the base model's short name, ``-l<layers>`` for a student (``-q8``
    when it was trained int8-aware)."""
    name = config.base_model.short_name
    if config.student is None:
        return name
    return f"{name}-l{len(config.student.layers)}" + ("-q8" if config.student.int8_aware else "")


@dataclass(frozen=True)
class Packaged:
    """The model folder being assembled in ``staging`` and the decision fitted on validation."""

    staging: Path
    folder: FolderResult
    calibration: Calibration
    calibration_note: str | None
    threshold: float
    threshold_info: dict[str, Any]


def threshold_flows(convs: list[Conversation], policy: ThresholdPolicy) -> np.ndarray:
    """Which validation flows the threshold is chosen on: all, or those that are not scope pairs."""
    return np.array([not (policy.exclude_scope_pairs and c.meta.get("pair_id") is not None) for c in convs])


def package(config: TrainConfig, prepared: Prepared, model: TurnScorer) -> Packaged:
    """Calibration and threshold fitted on the fp32 graph's validation logits, the measured precision,
    the model folder in its staging place; the torch scorer and fp32 graph kept in ``checkpoint_dir``."""
    val_convs = prepared.validation(config)
    y_val = _labels(val_convs)
    chosen_on = threshold_flows(val_convs, config.threshold)  # calibration uses all of validation
    decision: dict[str, Any] = {}

    def decide(val_logits: np.ndarray) -> tuple[Calibration, float]:
        """Platt calibration and threshold fitted on the validation flow logits of the fp32 graph."""
        if config.calibration.method == "platt":
            calibration, note = fit_platt(val_logits, y_val)
        else:
            calibration, note = Calibration(method="none"), None
        threshold, info = choose_threshold(
            y_val[chosen_on],
            calibrate_array(val_logits, calibration)[chosen_on],
            target_precision=config.threshold.target_precision,
            fallback=config.threshold.fallback,
        )
        decision.update(calibration=calibration, note=note, threshold=threshold, info=info)
        return calibration, threshold

    out = Path(config.output_dir)
    keep = Path(config.checkpoint_dir) / ".staging" if config.checkpoint_dir is not None else None
    staging = out.with_name(f".{out.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if keep is not None:  # saved before the export, so a failed export never loses the trained weights
        shutil.rmtree(keep, ignore_errors=True)
        model.save(keep / CHECKPOINT_SCORER_DIR)
    try:
        folder = write_model_folder(
            staging,
            model=model,
            tokenizer=prepared.tokenizer,
            render=config.render,
            special_tokens=prepared.special,
            base_model=BaseModelInfo(
                name=config.base_model.name,
                package=config.base_model.distribution if config.base_model.path is None else None,
                version=config.base_model.installed_version(),
            ),
            model_name=model_name(config),
            check_convs=val_convs,
            y_true=y_val,
            decide=decide,
            precision=config.quantization.precision,
            threads=config.threads,
            rule=DecisionAgreementRule(
                min_label_agreement=config.quantization.min_label_agreement,
                max_macro_f1_loss_points=config.quantization.max_macro_f1_loss_points,
            ),
            keep_fp32_in=keep,
        )
    except Exception:
        if keep is not None:
            log.error("packaging failed; the trained scorer is kept in %s", keep / CHECKPOINT_SCORER_DIR)
        raise
    if keep is not None:
        kept = keep.with_name(folder.config.model_id)
        shutil.rmtree(kept, ignore_errors=True)
        keep.replace(kept)
        log.info("kept the torch scorer and the fp32 graph in %s", kept)
    return Packaged(staging, folder, decision["calibration"], decision["note"], decision["threshold"],
                    decision["info"])  # fmt: skip


def evaluate_splits(
    config: TrainConfig, prepared: Prepared, packaged: Packaged
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Metrics of the shipped model folder on every split and realdev set (training splits sampled), and
    each set's (labels, calibrated scores) for the plots."""
    clf = Classifier.load(packaged.staging, threads=config.threads)
    val_split = config.data.validation_splits
    splits_metrics: dict[str, Any] = {}
    scored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    eval_sets = {**prepared.convs, **prepared.realdev}
    cap = config.eval_max_train_flows
    for split in config.data.train_splits:
        if cap is not None and len(eval_sets[split]) > cap:
            eval_sets[split] = [
                eval_sets[split][i] for i in sample_indices(len(eval_sets[split]), cap, config.seed)
            ]
    for split, split_convs in eval_sets.items():
        if split in val_split and len(val_split) == 1:
            raw = packaged.folder.shipped_raw  # already scored by the shipped graph during the int8 check
        else:
            raw = clf.turn_logits_many(split_convs)  # the model's exact batch size, as scoring uses
        splits_metrics[split] = evaluate_flows(
            split_convs, raw, packaged.calibration, packaged.threshold, ece_bins=config.calibration.ece_bins
        )
        scored[split] = (
            _labels(split_convs),
            calibrate_array(np.array([r.flow_logit for r in raw]), packaged.calibration),
        )
        log.info(summary_line(split, splits_metrics[split]))
    return splits_metrics, scored


def write_run(
    config: TrainConfig,
    prepared: Prepared,
    packaged: Packaged,
    fitted: FitResult,
    splits_metrics: dict[str, Any],
    scored: dict[str, tuple[np.ndarray, np.ndarray]],
    baselines: dict[str, Any],
    watch: Stopwatch,
    teacher: Teacher | None = None,
) -> TrainResult:
    """Plots, metrics.json, provenance.json, the config copy and MODEL_CARD.md; then the staging folder
    replaces ``output_dir``. ``teacher``: the one a student was distilled from (recorded in all three)."""
    staging, folder = packaged.staging, packaged.folder
    val_split = config.data.validation_splits[0]
    write_plots(staging, scored, config, packaged.threshold, packaged.threshold_info)
    watch.lap("plots")
    metrics = ModelMetrics.model_validate({
        "model_id": folder.config.model_id,
        "precision": folder.config.precision,
        "threshold": packaged.threshold,
        "threshold_policy": packaged.threshold_info,
        "calibration": {
            **packaged.calibration.model_dump(),
            "note": packaged.calibration_note,
            "validation_ece_before": splits_metrics[val_split]["ece_uncalibrated"],
            "validation_ece_after": splits_metrics[val_split]["overall"]["ece"],
        },
        "splits": splits_metrics,
        "baselines": baselines,
        "export": folder.report,
        "training": training_summary(fitted, prepared.train_examples, prepared.train_all, config, teacher),
        "timings_seconds": watch.stages,
    })  # fmt: skip
    metrics_dict = metrics.to_dict()
    provenance = build_provenance(
        config, prepared.entries, prepared.started, folder.config.model_id, prepared.base_dir, prepared.git
    )
    if teacher is not None:
        provenance["teacher"] = {"model_id": teacher.model_id, "path": teacher.path, "sha256": teacher.sha256}
    (staging / METRICS_FILE).write_text(json.dumps(metrics_dict, indent=2, default=_json_default) + "\n")
    (staging / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, default=_json_default) + "\n")
    config.save(staging)
    from training.model_card import render_model_card

    (staging / MODEL_CARD_FILE).write_text(render_model_card(folder.config, metrics, provenance, config))
    out = Path(config.output_dir)
    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)
    log.info("wrote %s (%s) in %.0f s", out, folder.config.model_id, sum(watch.stages.values()))
    return TrainResult(model_dir=out, metrics=metrics_dict, provenance=provenance)


def training_summary(
    fitted: FitResult,
    used: list[Example],
    available: list[Example],
    config: TrainConfig,
    teacher: Teacher | None = None,
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "steps": fitted.steps,
        "seconds": round(fitted.seconds, 2),
        "steps_per_second": round(fitted.steps_per_second, 4),
        "windows_seen": fitted.windows_seen,
        "train_conversations": len(used),
        "train_conversations_available": len(available),
        "train_windows": sum(len(e.windows) for e in used),
        "mil_conversations": sum(e.mil for e in used),
        "pair_conversations": sum(bool(e.pair) for e in used),
        "first_loss": fitted.losses[0] if fitted.losses else None,
        "final_loss_mean_last_50": float(np.mean(fitted.losses[-50:])) if fitted.losses else None,
    }
    if teacher is not None and config.student is not None:
        summary["distillation"] = {
            "teacher_model_id": teacher.model_id,
            "teacher_layers": teacher.num_layers,
            "layers": list(config.student.layers),
            "alpha": config.student.alpha,
            "temperature": config.student.temperature,
            "int8_aware": config.student.int8_aware,
        }
    return summary


def run_baselines(
    config: TrainConfig,
    base_dir: Path,
    convs: dict[str, list[Conversation]],
    realdev: dict[str, list[Conversation]],
) -> dict[str, Any]:
    """TF-IDF + logistic regression (training.baselines) and zero-shot similarity, at threshold 0.5."""
    out: dict[str, Any] = {}
    train = [c for s in config.data.train_splits for c in convs[s]]
    eval_sets = {s: convs[s] for s in (*config.data.validation_splits, *config.data.test_splits)} | realdev
    if config.baselines.tfidf:
        from classifier.render import render_text
        from training.baselines import fit_tfidf_baseline

        pipeline = fit_tfidf_baseline(train)
        out["tfidf_logreg"] = {
            split: binary_metrics(
                _labels(cs), pipeline.predict_proba([render_text(c) for c in cs])[:, 1], 0.5
            )
            for split, cs in eval_sets.items()
        }
    if config.baselines.zero_shot:
        from training.zero_shot import ZeroShot

        zero_shot = ZeroShot(base_dir, config.baselines.prototypes, batch_size=config.eval_batch_size)
        cap = config.baselines.zero_shot_max_flows
        result = {}
        for split, cs in eval_sets.items():
            sample = (
                cs
                if cap is None or len(cs) <= cap
                else [cs[i] for i in sample_indices(len(cs), cap, config.seed)]
            )
            result[split] = binary_metrics(_labels(sample), zero_shot.scores(sample), 0.5)
        out["zero_shot"] = result
    return out


def write_plots(
    out: Path,
    scored: dict[str, tuple[np.ndarray, np.ndarray]],
    config: TrainConfig,
    threshold: float,
    threshold_info: dict[str, Any],
) -> None:
    """Confusion matrix of the first test split, PR curves and reliability of validation and test splits."""
    from training.plots import (
        CONFUSION_FILE,
        PR_FILE,
        RELIABILITY_FILE,
        plot_confusion,
        plot_pr,
        plot_reliability,
    )

    main_eval = [s for s in (*config.data.test_splits, *config.data.validation_splits) if s in scored]
    curves = {s: scored[s] for s in (*config.data.validation_splits, *config.data.test_splits) if s in scored}
    if main_eval:
        y, s = scored[main_eval[0]]
        plot_confusion(y, s, threshold, f"confusion matrix ({main_eval[0]})", out / CONFUSION_FILE)
    point = None
    if "validation_precision" in threshold_info:
        point = (threshold_info["validation_precision"], threshold_info["validation_recall"])
    plot_pr(curves, point, out / PR_FILE)
    plot_reliability(curves, out / RELIABILITY_FILE, n_bins=config.calibration.ece_bins)


def build_provenance(
    config: TrainConfig,
    entries: dict[str, list[ManifestEntry]],
    started: datetime,
    model_id: str,
    base_dir: Path,
    git: dict[str, Any],
) -> dict[str, Any]:
    """``git``: the state of the tree when the run started (its own outputs would make it look dirty)."""
    import onnxruntime
    import sklearn
    import tokenizers
    import transformers

    return {
        "model_id": model_id,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git,
        "config_sha256": config.digest(),
        "data_manifest": {"path": str(config.data.manifest), "sha256": manifest_digest(config.data.manifest)},
        "data_files": [
            {"path": e.listed_as, "sha256": e.sha256, "split": e.split, "exclusive_use": e.exclusive_use}
            for split_entries in entries.values()
            for e in split_entries
        ],
        "base_model": {
            "package": config.base_model.distribution if config.base_model.path is None else None,
            "version": config.base_model.installed_version(),
            "name": config.base_model.name,
            "path": str(base_dir),
        },
        "seed": config.seed,
        "threads": config.threads,
        "command": sys.argv,
        "python": platform.python_version(),
        "libraries": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "onnxruntime": onnxruntime.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
