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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from tokenizers import Tokenizer

from classifier.inference import Classifier
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
)
from training.model import TurnScorer

log = logging.getLogger(__name__)

FP32_FILE = "model.fp32.onnx"
# (per_channel, reduce_range) variants of onnxruntime dynamic quantisation, all measured.
INT8_VARIANTS: tuple[tuple[bool, bool], ...] = ((False, False), (True, False), (False, True), (True, True))


@dataclass(frozen=True)
class Int8Rule:
    """When int8 may ship: label agreement with fp32 and macro-F1 loss (in points, 0-100 scale)."""

    min_label_agreement: float = 0.995
    max_macro_f1_loss_points: float = 0.3


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def flow_logits(
    onnx_path: Path, config: ModelConfig, tokenizer: Tokenizer, convs: Sequence[Conversation]
) -> np.ndarray:
    """Raw flow logits of ``convs`` scored by one ONNX file through the shipped inference code."""
    clf = Classifier(onnx_path.parent, config, onnx_session(onnx_path), tokenizer)
    return np.array([t.flow_logit for t in clf.turn_logits_many(convs)], dtype=np.float64)


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


def _time_flows(
    onnx_path: Path, config: ModelConfig, tokenizer: Tokenizer, convs: Sequence[Conversation]
) -> float:
    flow_logits(onnx_path, config, tokenizer, convs[:4])  # warm-up
    start = time.perf_counter()
    flow_logits(onnx_path, config, tokenizer, convs)
    return time.perf_counter() - start


@dataclass(frozen=True)
class FolderResult:
    config: ModelConfig
    report: dict[str, Any]
    fp32_logits: np.ndarray
    shipped_logits: np.ndarray


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
    calibration: Calibration | None = None,
    threshold: float = 0.5,
    precision: str = "auto",
    rule: Int8Rule | None = None,
    exporters: Sequence[Exporter] = ("legacy", "dynamo"),
    timing_flows: int = 200,
    keep_fp32: bool = False,
) -> FolderResult:
    """Export ``model``, quantise by measurement, and write model.onnx, tokenizer.json and scopeguard.json.

    ``check_convs`` are the conversations used for export parity and int8 agreement (validation flows in a
    real run); ``y_true`` (1 = general_assistance) adds the macro-F1 part of the int8 rule.
    ``precision``: "auto" applies the rule, "int8"/"fp32" force a precision (recorded in the report).
    """
    if precision not in ("auto", "int8", "fp32"):
        raise ValueError(f"precision must be auto, int8 or fp32, got {precision!r}")
    if not check_convs:
        raise ValueError("write_model_folder needs check conversations for export parity")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calibration = calibration or Calibration()
    rule = rule or Int8Rule()
    labels = np.asarray(y_true, dtype=int) if y_true is not None else None

    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(out / TOKENIZER_FILE))
    encoder = ConversationEncoder(tokenizer, render, special_tokens.cls_id, special_tokens.sep_id)
    windows = [w for ws in encoder.encode_many(check_convs) for w in ws]

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
            calibration=calibration,
            threshold=threshold,
            onnx_file=DEFAULT_ONNX_FILE,
            precision="fp32",
            base_model=base_model,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        fp32_logits = flow_logits(fp32_path, draft, tokenizer, check_convs)
        timing = list(check_convs)[:timing_flows]
        report: dict[str, Any] = {
            "exporters": export_report,
            "exporter": exported.exporter,
            "parity_max_abs_diff": exported.parity,
            "weights_sha256": digest,
            "fp32_seconds": _time_flows(fp32_path, draft, tokenizer, timing),
            "timing_flows": len(timing),
            "int8_variants": [],
            "precision_requested": precision,
        }
        chosen: tuple[Path, np.ndarray, dict[str, Any], tuple[float, float]] | None = None
        if precision != "fp32":
            for per_channel, reduce_range in INT8_VARIANTS:
                path = work / f"model.int8.pc{int(per_channel)}.rr{int(reduce_range)}.onnx"
                quantize_int8(fp32_path, path, per_channel=per_channel, reduce_range=reduce_range)
                logits = flow_logits(path, draft, tokenizer, check_convs)
                result = compare_int8(fp32_logits, logits, labels, calibration, threshold, rule)
                result.update(
                    per_channel=per_channel,
                    reduce_range=reduce_range,
                    seconds=_time_flows(path, draft, tokenizer, timing),
                    size_bytes=path.stat().st_size,
                )
                report["int8_variants"].append(result)
                usable = result["passes"] or precision == "int8"
                # Among variants the rule accepts, keep the one closest to fp32; speed breaks ties.
                key = (result["mean_abs_flow_logit_diff"], result["seconds"])
                if usable and (chosen is None or key < chosen[3]):
                    chosen = (path, logits, result, key)
        if chosen is None:
            shipped, shipped_logits, shipped_precision = fp32_path, fp32_logits, "fp32"
            report["precision_reason"] = (
                "fp32 requested"
                if precision == "fp32"
                else "no int8 variant met the agreement rule: "
                + " | ".join("; ".join(v["reasons"]) for v in report["int8_variants"])
            )
        else:
            shipped, shipped_logits, _, _ = chosen
            shipped_precision = "int8"
            report["precision_reason"] = (
                f"int8 per_channel={chosen[2]['per_channel']} reduce_range={chosen[2]['reduce_range']}: "
                + ("forced" if precision == "int8" else "meets the agreement rule")
            )
        report["precision"] = shipped_precision
        shutil.copyfile(shipped, out / DEFAULT_ONNX_FILE)
        if keep_fp32 and shipped_precision == "int8":
            shutil.copyfile(fp32_path, out / FP32_FILE)
    config = draft.model_copy(update={"precision": shipped_precision})
    config = ModelConfig.model_validate(config.to_dict())
    config.save(out)
    log.info("model folder %s: %s, %s", out, config.model_id, report["precision_reason"])
    return FolderResult(config=config, report=report, fp32_logits=fp32_logits, shipped_logits=shipped_logits)
