"""Write a complete model folder: checked ONNX export, measured int8 quantisation, tokenizer, scopeguard.json.

The real training run and the tiny test model both go through ``write_model_folder`` so tests exercise the
exact export path that ships. Int8 is kept only if it agrees with fp32 on the check conversations
(label agreement and macro-F1 loss, see ``Int8Rule``); otherwise fp32 ships and the reason is recorded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from tokenizers import Tokenizer

from classifier.inference import Classifier, TurnLogits
from classifier.model_config import (
    DEFAULT_ONNX_FILE,
    TOKENIZER_FILE,
    BaseModelInfo,
    Calibration,
    ModelConfig,
    SpecialTokens,
)
from classifier.render import RENDERING_VERSION, ConversationEncoder, RenderConfig
from classifier.schema import Conversation
from training.export import (
    Exporter,
    export_checked,
    initializer_digest,
    onnx_session,
    quantize_int8,
    quantize_weights,
    store_weights_fp16,
)
from training.model import TurnScorer

log = logging.getLogger(__name__)

FP32_FILE = "model.fp32.onnx"
WEIGHTS_INT8_FILE = "model.int8-weights.onnx"
# The FFN down-projections (1536 -> 384 after GELU) carry the activation outliers that per-tensor dynamic
# activation quantisation handles worst; keeping them fp32 halved the int8 flow-logit error of MiniLM-L6.
FFN_DOWN_PROJECTIONS = r"/layer\.\d+/output/dense/MatMul$"


@dataclass(frozen=True)
class Int8Variant:
    """One setting of onnxruntime dynamic quantisation; every variant is measured, none assumed best."""

    per_channel: bool
    reduce_range: bool
    keep_fp32: str | None = None  # regex of node names left in fp32

    @property
    def name(self) -> str:
        kept = "+ffn_down_fp32" if self.keep_fp32 == FFN_DOWN_PROJECTIONS else ""
        return f"pc{int(self.per_channel)}.rr{int(self.reduce_range)}{kept}"


INT8_VARIANTS: tuple[Int8Variant, ...] = (
    Int8Variant(False, False),
    Int8Variant(True, False),
    Int8Variant(False, True),
    Int8Variant(True, True),
    Int8Variant(True, False, FFN_DOWN_PROJECTIONS),
    Int8Variant(True, True, FFN_DOWN_PROJECTIONS),
)
MAX_FULL_INT8_CHECKS = 2
# The shipped model folder must stay under 60 MB; the ONNX file gets this share, the tokenizer the rest.
MAX_ONNX_BYTES = 55_000_000


@dataclass(frozen=True)
class Int8Rule:
    """When int8 may ship: label agreement with fp32 and macro-F1 loss (in points, 0-100 scale)."""

    min_label_agreement: float = 0.995
    max_macro_f1_loss_points: float = 0.3


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def score_flows(
    onnx_path: Path, config: ModelConfig, tokenizer: Tokenizer, convs: Sequence[Conversation], threads: int
) -> tuple[list[TurnLogits], float]:
    """Raw turn/flow logits of ``convs`` scored by one ONNX file through the shipped inference code,
    and the seconds it took (the speed measure of a graph)."""
    clf = Classifier(onnx_path.parent, config, onnx_session(onnx_path, threads=threads), tokenizer)
    clf.turn_logits_many(convs[:2])  # warm-up: the first run allocates
    start = time.perf_counter()
    raw = clf.turn_logits_many(convs)
    return raw, time.perf_counter() - start


def flow_array(raw: Sequence[TurnLogits]) -> np.ndarray:
    return np.array([r.flow_logit for r in raw], dtype=np.float64)


def predicted_labels(logits: np.ndarray, calibration: Calibration, threshold: float) -> np.ndarray:
    """1 = general_assistance, with the calibration and threshold the model folder will hold."""
    with np.errstate(over="ignore"):
        z = calibration.a * logits + calibration.b if calibration.method == "platt" else logits
        scores = sigmoid(z)
    scores = np.where(np.isneginf(logits), 0.0, scores)
    return (scores >= threshold).astype(int)


def compare_int8(
    fp32_logits: np.ndarray,
    int8_logits: np.ndarray,
    y_true: np.ndarray | None,
    calibration: Calibration,
    threshold: float,
    rule: Int8Rule,
) -> dict[str, Any]:
    """Agreement of an int8 graph with fp32 at flow level, and whether ``rule`` lets it ship."""
    fp32_pred = predicted_labels(fp32_logits, calibration, threshold)
    int8_pred = predicted_labels(int8_logits, calibration, threshold)
    finite = np.isfinite(fp32_logits) & np.isfinite(int8_logits)
    result: dict[str, Any] = {
        "flows": len(fp32_logits),
        "label_agreement": float((fp32_pred == int8_pred).mean()),
        "max_abs_flow_logit_diff": float(np.abs(fp32_logits[finite] - int8_logits[finite]).max(initial=0.0)),
        "mean_abs_flow_logit_diff": float(np.abs(fp32_logits[finite] - int8_logits[finite]).mean())
        if finite.any()
        else 0.0,
    }
    reasons = []
    if result["label_agreement"] < rule.min_label_agreement:
        reasons.append(
            f"label agreement {result['label_agreement']:.4f} < {rule.min_label_agreement} required"
        )
    if y_true is not None:
        f1_fp32 = 100 * f1_score(y_true, fp32_pred, average="macro", zero_division=0)
        f1_int8 = 100 * f1_score(y_true, int8_pred, average="macro", zero_division=0)
        result.update(macro_f1_fp32=f1_fp32, macro_f1_int8=f1_int8, macro_f1_loss_points=f1_fp32 - f1_int8)
        if f1_fp32 - f1_int8 > rule.max_macro_f1_loss_points:
            reasons.append(
                f"macro-F1 loss {f1_fp32 - f1_int8:.2f} points > {rule.max_macro_f1_loss_points} allowed"
            )
    else:
        result["macro_f1_loss_points"] = None
    result["passes"] = not reasons
    result["reasons"] = reasons
    return result


Decide = Callable[[np.ndarray], tuple[Calibration, float]]


@dataclass(frozen=True)
class FolderResult:
    config: ModelConfig
    report: dict[str, Any]
    fp32_raw: list[TurnLogits]  # check conversations scored by the fp32 graph
    shipped_raw: list[TurnLogits]  # ... and by the shipped graph


def write_model_folder(
    out_dir: str | Path,
    *,
    model: TurnScorer,
    tokenizer: Tokenizer,
    render: RenderConfig,
    special_tokens: SpecialTokens,
    base_model: BaseModelInfo,
    model_name: str,
    check_convs: Sequence[Conversation],
    y_true: Sequence[int] | None = None,
    decide: Decide | None = None,
    calibration: Calibration | None = None,
    threshold: float = 0.5,
    precision: str = "auto",
    rule: Int8Rule | None = None,
    exporters: Sequence[Exporter] = ("legacy", "dynamo"),
    selection_flows: int = 200,
    threads: int = 1,
    variants: Sequence[Int8Variant] = INT8_VARIANTS,
    max_onnx_bytes: int | None = MAX_ONNX_BYTES,
    keep_fp32_in: Path | None = None,
) -> FolderResult:
    """Export ``model``, quantise by measurement, and write model.onnx, tokenizer.json and scopeguard.json.

    ``check_convs`` are the conversations of export parity and int8 agreement (validation flows in a real
    run); ``y_true`` (1 = general_assistance) adds the macro-F1 part of the int8 rule. ``decide`` maps the
    fp32 flow logits of ``check_convs`` to (calibration, threshold) — the real run fits them there, on the
    graph that ships; without it ``calibration``/``threshold`` are used as given.
    Every int8 variant is scored on the first ``selection_flows`` check flows; the rule-passing variants
    closest to fp32 (speed breaks ties) are then checked on all of them, the first passing one ships.
    ``precision``: "auto" applies the rule, "int8"/"fp32" force a precision (recorded in the report).
    ``keep_fp32_in``: a folder that receives a copy of the exported fp32 graph.
    """
    if precision not in ("auto", "int8", "int8-weights", "fp32"):
        raise ValueError(f"precision must be auto, int8, int8-weights or fp32, got {precision!r}")
    if not check_convs:
        raise ValueError("write_model_folder needs check conversations for export parity")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rule = rule or Int8Rule()
    labels = np.asarray(y_true, dtype=int) if y_true is not None else None

    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(out / TOKENIZER_FILE), pretty=False)  # compact: counts toward the 60 MB budget
    encoder = ConversationEncoder(tokenizer, render, special_tokens.cls_id, special_tokens.sep_id)
    windows = [w for ws in encoder.encode_many(check_convs[:200]) for w in ws]

    with tempfile.TemporaryDirectory(prefix="scopeguard-export-", dir=out) as tmp:
        work = Path(tmp)
        fp32_path = work / FP32_FILE
        exported, export_report = export_checked(
            model, fp32_path, windows[:256], pad_id=special_tokens.pad_id, exporters=exporters
        )
        digest = initializer_digest(fp32_path)
        draft = ModelConfig(
            model_id=f"scopeguard-{model_name}-{RENDERING_VERSION}-{digest[:8]}",
            render=render,
            special_tokens=special_tokens,
            calibration=calibration or Calibration(),
            threshold=threshold,
            onnx_file=DEFAULT_ONNX_FILE,
            precision="fp32",
            base_model=base_model,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        fp32_raw, fp32_seconds = score_flows(fp32_path, draft, tokenizer, check_convs, threads)
        fp32_logits = flow_array(fp32_raw)
        if decide is not None:
            calibration, threshold = decide(fp32_logits)
            draft = draft.model_copy(update={"calibration": calibration, "threshold": threshold})
        calibration = draft.calibration
        n_sel = min(selection_flows, len(check_convs))
        selection = list(check_convs)[:n_sel]
        report: dict[str, Any] = {
            "exporters": export_report,
            "exporter": exported.exporter,
            "parity_max_abs_diff": exported.parity,
            "weights_sha256": digest,
            "fp32_seconds": fp32_seconds,
            "check_flows": len(check_convs),
            "selection_flows": n_sel,
            "int8_variants": [],
            "precision_requested": precision,
        }
        shipped_raw, shipped_path, shipped_precision = fp32_raw, fp32_path, "fp32"
        if precision in ("auto", "int8-weights"):
            weights_path = quantize_weights(fp32_path, work / WEIGHTS_INT8_FILE)
            weights_draft = draft.model_copy(update={"precision": "int8-weights"})
            weights_raw, seconds = score_flows(weights_path, weights_draft, tokenizer, check_convs, threads)
            check = compare_int8(
                fp32_logits, flow_array(weights_raw), labels, calibration, draft.threshold, rule
            )
            check.update(seconds=seconds, fp32_seconds=fp32_seconds, size_bytes=weights_path.stat().st_size)
            report["int8_weights"] = check
            if check["passes"] or precision == "int8-weights":
                shipped_raw, shipped_path, shipped_precision = weights_raw, weights_path, "int8-weights"
                how = "forced by config" if precision == "int8-weights" else "meets the agreement rule"
                report["precision_reason"] = (
                    "int8-weights (MatMul int8 blocks, embedding int8 rows, per-row activation "
                    f"quantisation): {how} on all {check['flows']} check flows (label agreement "
                    f"{check['label_agreement']:.4f}); dynamic int8 not tried"
                )
        candidates: list[tuple[tuple[float, float], Path, Int8Variant]] = []
        # An int8 graph is scored the way it ships: one window per call (see classifier.inference).
        int8_draft = draft.model_copy(update={"precision": "int8"})
        if precision in ("auto", "int8") and shipped_precision == "fp32":
            sel_labels = labels[:n_sel] if labels is not None else None
            for variant in variants:
                path = work / f"model.int8.{variant.name}.onnx"
                quantize_int8(
                    fp32_path,
                    path,
                    per_channel=variant.per_channel,
                    reduce_range=variant.reduce_range,
                    keep_fp32=variant.keep_fp32,
                )
                raw, seconds = score_flows(path, int8_draft, tokenizer, selection, threads)
                result = compare_int8(
                    fp32_logits[:n_sel], flow_array(raw), sel_labels, calibration, draft.threshold, rule
                )
                result.update(variant=variant.name, seconds=seconds, size_bytes=path.stat().st_size)
                report["int8_variants"].append(result)
                if result["passes"] or precision == "int8":
                    # Closest to fp32 first; speed breaks ties.
                    candidates.append(((result["mean_abs_flow_logit_diff"], seconds), path, variant))
        candidates.sort(key=lambda c: c[0])
        report["int8_checks"] = []
        for _, path, variant in candidates[:MAX_FULL_INT8_CHECKS]:
            int8_raw, int8_seconds = score_flows(path, int8_draft, tokenizer, check_convs, threads)
            full = compare_int8(fp32_logits, flow_array(int8_raw), labels, calibration, draft.threshold, rule)
            full.update(variant=variant.name, seconds=int8_seconds, fp32_seconds=fp32_seconds)
            report["int8_checks"].append(full)
            if full["passes"] or precision == "int8":
                shipped_raw, shipped_path, shipped_precision = int8_raw, path, "int8"
                how = (
                    "forced by config"
                    if precision == "int8"
                    else "meets the agreement rule on all check flows"
                )
                report["precision_reason"] = f"int8 {variant.name}: {how}"
                break
        if shipped_precision == "fp32":
            if precision == "fp32":
                report["precision_reason"] = "fp32 requested by config"
            elif "int8_weights" in report and not report["int8_variants"]:
                report["precision_reason"] = "int8-weights did not meet the agreement rule: " + "; ".join(
                    report["int8_weights"]["reasons"]
                )
            elif report["int8_checks"]:
                report["precision_reason"] = (
                    "int8 met the rule on the selection flows but not on all: "
                    + " | ".join(f"{c['variant']}: {'; '.join(c['reasons'])}" for c in report["int8_checks"])
                )
            else:
                report["precision_reason"] = "no int8 variant met the agreement rule: " + " | ".join(
                    f"{v['variant']}: {'; '.join(v['reasons'])}" for v in report["int8_variants"]
                )
        if shipped_precision == "fp32" and max_onnx_bytes and fp32_path.stat().st_size > max_onnx_bytes:
            shipped_raw, shipped_path = _fp16_weights(
                fp32_path, work, draft, tokenizer, check_convs, threads, fp32_logits, labels, rule, report
            )
        report["precision"] = shipped_precision
        shutil.copyfile(shipped_path, out / DEFAULT_ONNX_FILE)
        if keep_fp32_in is not None:
            keep_fp32_in.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fp32_path, keep_fp32_in / FP32_FILE)
    config = ModelConfig.model_validate({**draft.to_dict(), "precision": shipped_precision})
    config.save(out)
    log.info("model folder %s: %s, %s", out, config.model_id, report["precision_reason"])
    return FolderResult(config=config, report=report, fp32_raw=fp32_raw, shipped_raw=shipped_raw)


def _fp16_weights(
    fp32_path: Path,
    work: Path,
    draft: ModelConfig,
    tokenizer: Tokenizer,
    check_convs: Sequence[Conversation],
    threads: int,
    fp32_logits: np.ndarray,
    labels: np.ndarray | None,
    rule: Int8Rule,
    report: dict[str, Any],
) -> tuple[list[TurnLogits], Path]:
    """An fp32 graph too large to ship, with its weights stored as fp16; held to the same agreement rule."""
    path = store_weights_fp16(fp32_path, work / "model.fp16w.onnx")
    raw, seconds = score_flows(path, draft, tokenizer, check_convs, threads)
    check = compare_int8(fp32_logits, flow_array(raw), labels, draft.calibration, draft.threshold, rule)
    check.update(seconds=seconds, size_bytes=path.stat().st_size)
    report["fp16_weights"] = check
    if not check["passes"]:
        raise ValueError(
            f"the fp32 model is {fp32_path.stat().st_size} bytes, over the shipping limit, and storing its "
            f"weights as fp16 changes its decisions: {'; '.join(check['reasons'])}"
        )
    report["precision_reason"] += (
        f"; fp32 compute with weights stored as fp16 ({check['size_bytes']} bytes, "
        f"label agreement {check['label_agreement']:.4f})"
    )
    return raw, path
