"""Write a complete model folder: checked ONNX export, measured quantisation, tokenizer, scopeguard.json.

The real training run and the tiny test model both go through ``write_model_folder`` so tests exercise the
exact export path that ships. A smaller precision (int8-weights, dynamic int8) ships only if its decisions
agree with the fp32 graph's on the check conversations (``DecisionAgreementRule``: label agreement and
macro-F1 loss); otherwise fp32 ships and the reason is recorded, its weights stored as int8 blocks (or, if
that moves decisions, as fp16) when the fp32 file is too large. One step per candidate precision
(``check_int8_weights``, ``check_dynamic_int8``, ``check_int8_storage``, ``check_fp16_weights``), each
returning its checks, and ``pick_precision`` decides.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from tokenizers import Tokenizer

from classifier.backend import OnnxBackend
from classifier.calibration import decide_array
from classifier.compute import DEQUANTIZE_LINEAR, Compute
from classifier.inference import Classifier, TurnLogits
from classifier.model_config import (
    DEFAULT_ONNX_FILE,
    TOKENIZER_FILE,
    BaseModelInfo,
    Calibration,
    ModelConfig,
    SpecialTokens,
)
from classifier.model_metrics import ExportReport, PrecisionCheck
from classifier.render import RENDERING_VERSION, ConversationEncoder, RenderConfig
from classifier.schema import Conversation
from training.export import (
    Exporter,
    as_dequantize_linear,
    export_checked,
    initializer_digest,
    quantize_int8,
    quantize_weights,
    store_weights_fp16,
    store_weights_int8,
)
from training.model import TurnScorer

log = logging.getLogger(__name__)

FP32_FILE = "model.fp32.onnx"
WEIGHTS_NBITS_FILE = "model.int8-weights-nbits.onnx"
WEIGHTS_INT8_FILE = "model.int8-weights.onnx"
FP16_WEIGHTS_FILE = "model.fp16w.onnx"
INT8_STORAGE_FILE = "model.int8s.onnx"
PRECISIONS = ("auto", "auto-int8", "int8", "int8-weights", "fp32")
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
# The shipped model folder must stay under 60 MB; the ONNX file gets this share, the tokenizer (2.6 MB),
# card, metrics and plots (0.3 MB) the rest.
MAX_ONNX_BYTES = 57_000_000


@dataclass(frozen=True)
class DecisionAgreementRule:
    """When a candidate graph (int8-weights, dynamic int8, int8 or fp16 storage) may stand in for fp32:
    agreement with the fp32 graph's decisions and macro-F1 loss (in points, 0-100 scale)."""

    min_label_agreement: float = 0.995
    max_macro_f1_loss_points: float = 0.3


def score_flows(
    onnx_path: Path,
    config: ModelConfig,
    tokenizer: Tokenizer,
    convs: Sequence[Conversation],
    threads: int,
    compute: Compute | None = None,
) -> tuple[list[TurnLogits], float]:
    """Raw turn/flow logits of ``convs`` scored by one ONNX file through the shipped inference code (at
    the exact batch size of ``config.precision``), and the seconds it took (the speed measure of a graph).

    Quantised graphs run int8 products whatever this CPU would choose: those are what the agreement rule
    judges (fp32 products of int8-weights are the dequantised fp32 graph itself, the reference);
    ``compute`` overrides that (benchmarks)."""
    backend = OnnxBackend.from_file(
        onnx_path,
        pad_id=config.special_tokens.pad_id,
        precision=config.precision,
        threads=threads,
        compute=compute or (None if config.precision == "fp32" else "int8"),
    )
    clf = Classifier(onnx_path.parent, config, backend, tokenizer)
    clf.turn_logits_many(convs[:2])  # warm-up: the first run allocates
    start = time.perf_counter()
    raw = clf.turn_logits_many(convs)
    return raw, time.perf_counter() - start


def config_update(precision: str) -> dict[str, str]:
    """The model config fields of a graph packaged at ``precision``."""
    if precision == "int8-weights":
        return {"precision": precision, "int8_weights_format": DEQUANTIZE_LINEAR}
    return {"precision": precision}


def flow_array(raw: Sequence[TurnLogits]) -> np.ndarray:
    return np.array([r.flow_logit for r in raw], dtype=np.float64)


def check_agreement(
    fp32_logits: np.ndarray,
    candidate_logits: np.ndarray,
    y_true: np.ndarray | None,
    calibration: Calibration,
    threshold: float,
    rule: DecisionAgreementRule,
) -> PrecisionCheck:
    """Agreement of a candidate graph's flow decisions with fp32's, and whether ``rule`` lets it ship."""
    fp32_pred = decide_array(fp32_logits, calibration, threshold)
    cand_pred = decide_array(candidate_logits, calibration, threshold)
    finite = np.isfinite(fp32_logits) & np.isfinite(candidate_logits)
    diff = np.abs(fp32_logits[finite] - candidate_logits[finite])
    agreement = float((fp32_pred == cand_pred).mean())
    reasons = []
    if agreement < rule.min_label_agreement:
        reasons.append(f"label agreement {agreement:.4f} < {rule.min_label_agreement} required")
    f1: dict[str, float] = {}
    loss = None
    if y_true is not None:
        f1_fp32 = 100 * f1_score(y_true, fp32_pred, average="macro", zero_division=0)
        f1_cand = 100 * f1_score(y_true, cand_pred, average="macro", zero_division=0)
        f1, loss = {"macro_f1_fp32": f1_fp32, "macro_f1_int8": f1_cand}, f1_fp32 - f1_cand
        if loss > rule.max_macro_f1_loss_points:
            reasons.append(f"macro-F1 loss {loss:.2f} points > {rule.max_macro_f1_loss_points} allowed")
    return PrecisionCheck(
        flows=len(fp32_logits),
        label_agreement=agreement,
        max_abs_flow_logit_diff=float(diff.max(initial=0.0)),
        mean_abs_flow_logit_diff=float(diff.mean()) if finite.any() else 0.0,
        **f1,
        macro_f1_loss_points=loss,
        passes=not reasons,
        reasons=reasons,
    )


def _with(check: PrecisionCheck, **extra: Any) -> PrecisionCheck:
    """``check`` with its timing/size/variant fields filled (kept as written fields of metrics.json)."""
    return check.model_copy(update=extra)


Decide = Callable[[np.ndarray], tuple[Calibration, float]]


@dataclass
class Packaging:
    """What every precision step needs: the work folder, the fp32 graph and its scores on the check flows,
    the draft config (calibration and threshold fixed on fp32), labels and the agreement rule."""

    work: Path
    draft: ModelConfig
    tokenizer: Tokenizer
    check_convs: Sequence[Conversation]
    labels: np.ndarray | None
    rule: DecisionAgreementRule
    threads: int
    fp32_path: Path
    fp32_raw: list[TurnLogits]
    fp32_seconds: float

    @property
    def fp32_logits(self) -> np.ndarray:
        return flow_array(self.fp32_raw)

    def score(
        self, path: Path, precision: str, convs: Sequence[Conversation] | None = None
    ) -> tuple[list[TurnLogits], float]:
        config = self.draft.model_copy(update=config_update(precision))
        return score_flows(path, config, self.tokenizer, self.check_convs if convs is None else convs,
                           self.threads)  # fmt: skip

    def check(self, raw: Sequence[TurnLogits], flows: int | None = None) -> PrecisionCheck:
        """``check_agreement`` of ``raw`` with fp32 on the first ``flows`` check flows (default all)."""
        n = len(self.check_convs) if flows is None else flows
        labels = self.labels[:n] if self.labels is not None else None
        return check_agreement(
            self.fp32_logits[:n], flow_array(raw), labels, self.draft.calibration, self.draft.threshold,
            self.rule,
        )  # fmt: skip


@dataclass(frozen=True)
class Shipped:
    """The graph that ships: its precision, file and check-flow scores."""

    precision: str
    path: Path
    raw: list[TurnLogits]


@dataclass(frozen=True)
class WeightsInt8Result:
    check: PrecisionCheck
    graph: Shipped


def check_int8_weights(pack: Packaging) -> WeightsInt8Result:
    """Weight-only int8 of the fp32 graph, as DequantizeLinear blocks, checked on every check flow."""
    nbits = quantize_weights(pack.fp32_path, pack.work / WEIGHTS_NBITS_FILE)
    path = as_dequantize_linear(nbits, pack.work / WEIGHTS_INT8_FILE)
    raw, seconds = pack.score(path, "int8-weights")
    check = _with(pack.check(raw), seconds=seconds, fp32_seconds=pack.fp32_seconds,
                  size_bytes=path.stat().st_size)  # fmt: skip
    return WeightsInt8Result(check=check, graph=Shipped("int8-weights", path, raw))


@dataclass(frozen=True)
class DynamicInt8Result:
    variants: list[PrecisionCheck]  # every variant on the selection flows
    checks: list[PrecisionCheck]  # the best ones on all check flows, until one ships
    chosen: Shipped | None = None
    chosen_variant: str | None = None


def check_dynamic_int8(
    pack: Packaging, variants: Sequence[Int8Variant], selection_flows: int, *, forced: bool
) -> DynamicInt8Result:
    """Every dynamic int8 variant on the first ``selection_flows`` flows; the rule-passing ones closest to
    fp32 (speed breaks ties) then on all check flows, the first passing one is chosen. ``forced``: int8 was
    requested, so the rule is recorded but not applied. An int8 graph is scored the way it ships: one
    window per call (see classifier.backend.exact_batch_size)."""
    selection = list(pack.check_convs)[:selection_flows]
    measured: list[PrecisionCheck] = []
    candidates: list[tuple[tuple[float, float], Path, Int8Variant]] = []
    for variant in variants:
        path = pack.work / f"model.int8.{variant.name}.onnx"
        quantize_int8(pack.fp32_path, path, per_channel=variant.per_channel,
                      reduce_range=variant.reduce_range, keep_fp32=variant.keep_fp32)  # fmt: skip
        raw, seconds = pack.score(path, "int8", selection)
        check = _with(pack.check(raw, len(selection)), variant=variant.name, seconds=seconds,
                      size_bytes=path.stat().st_size)  # fmt: skip
        measured.append(check)
        if check.passes or forced:
            candidates.append(((check.mean_abs_flow_logit_diff, seconds), path, variant))
    candidates.sort(key=lambda c: c[0])
    full_checks: list[PrecisionCheck] = []
    for _, path, variant in candidates[:MAX_FULL_INT8_CHECKS]:
        raw, seconds = pack.score(path, "int8")
        full = _with(pack.check(raw), variant=variant.name, seconds=seconds, fp32_seconds=pack.fp32_seconds)
        full_checks.append(full)
        if full.passes or forced:
            return DynamicInt8Result(measured, full_checks, Shipped("int8", path, raw), variant.name)
    return DynamicInt8Result(measured, full_checks)


def check_int8_storage(pack: Packaging, max_onnx_bytes: int) -> tuple[PrecisionCheck, Shipped | None]:
    """An fp32 graph too large to ship, with its weights stored as int8 blocks and fp32 compute: the graph
    when it meets the agreement rule and the size limit, else None (the check says why)."""
    path = store_weights_int8(pack.fp32_path, pack.work / INT8_STORAGE_FILE)
    raw, seconds = pack.score(path, "fp32")
    size = path.stat().st_size
    check = _with(pack.check(raw), seconds=seconds, size_bytes=size)
    if size > max_onnx_bytes:
        reasons = [*check.reasons, f"{size} bytes > {max_onnx_bytes} allowed"]
        check = check.model_copy(update={"passes": False, "reasons": reasons})
    return check, Shipped("fp32", path, raw) if check.passes else None


def check_fp16_weights(pack: Packaging) -> tuple[PrecisionCheck, Shipped]:
    """An fp32 graph too large to ship, with its weights stored as fp16; held to the same agreement rule."""
    path = store_weights_fp16(pack.fp32_path, pack.work / FP16_WEIGHTS_FILE)
    raw, seconds = pack.score(path, "fp32")
    check = _with(pack.check(raw), seconds=seconds, size_bytes=path.stat().st_size)
    if not check.passes:
        raise ValueError(
            f"the fp32 model is {pack.fp32_path.stat().st_size} bytes, over the shipping limit, and storing "
            f"its weights as fp16 changes its decisions: {'; '.join(check.reasons)}"
        )
    return check, Shipped("fp32", path, raw)


@dataclass
class PrecisionChoice:
    """The shipped graph, the reason, and the checks that led there (fields of the export report)."""

    shipped: Shipped
    reason: str
    int8_weights: PrecisionCheck | None = None
    int8_variants: list[PrecisionCheck] = field(default_factory=list)
    int8_checks: list[PrecisionCheck] = field(default_factory=list)
    int8_storage: PrecisionCheck | None = None
    fp16_weights: PrecisionCheck | None = None


def pick_precision(
    pack: Packaging,
    precision: str,
    *,
    variants: Sequence[Int8Variant],
    selection_flows: int,
    max_onnx_bytes: int | None,
) -> PrecisionChoice:
    """int8-weights if it passes (or is forced), else dynamic int8 if a variant passes (or is forced),
    else fp32 — when the fp32 file is over ``max_onnx_bytes``, with its weights stored as int8 blocks if
    that keeps the decisions and fits, else as fp16."""
    fp32 = Shipped("fp32", pack.fp32_path, pack.fp32_raw)
    choice = PrecisionChoice(shipped=fp32, reason="fp32 requested by config")

    def ships_dynamic(forced: bool) -> bool:
        """Dynamic int8 checked into ``choice``; True when a variant ships."""
        dynamic = check_dynamic_int8(pack, variants, selection_flows, forced=forced)
        choice.int8_variants, choice.int8_checks = dynamic.variants, dynamic.checks
        if dynamic.chosen is None:
            return False
        how = "forced by config" if forced else "meets the agreement rule on all check flows"
        choice.shipped, choice.reason = dynamic.chosen, f"int8 {dynamic.chosen_variant}: {how}"
        return True

    # an int8-aware model (auto-int8): its point is the int8 kernels, so they go first
    if precision == "auto-int8" and ships_dynamic(forced=False):
        return choice
    if precision in ("auto", "auto-int8", "int8-weights"):
        weights = check_int8_weights(pack)
        choice.int8_weights = weights.check
        if weights.check.passes or precision == "int8-weights":
            how = "forced by config" if precision == "int8-weights" else "meets the agreement rule"
            tried = "no dynamic int8 variant passed" if choice.int8_variants else "dynamic int8 not tried"
            choice.shipped = weights.graph
            choice.reason = (
                "int8-weights (MatMul int8 blocks as DequantizeLinear, embedding int8 rows; int8 products "
                "with per-row activation quantisation where the CPU has int8 dot products, else fp32): "
                f"{how} on all {weights.check.flows} check flows (label agreement "
                f"{weights.check.label_agreement:.4f}); {tried}"
            )
            return choice
    if precision in ("auto", "int8") and ships_dynamic(forced=precision == "int8"):
        return choice
    if precision != "fp32":
        choice.reason = _why_not_smaller(choice)
    if max_onnx_bytes and pack.fp32_path.stat().st_size > max_onnx_bytes:
        choice.int8_storage, stored = check_int8_storage(pack, max_onnx_bytes)
        if stored is not None:
            choice.shipped = stored
            choice.reason += (
                f"; fp32 compute with weights stored as int8 blocks ({choice.int8_storage.size_bytes} bytes, "
                f"label agreement {choice.int8_storage.label_agreement:.4f})"
            )
            return choice
        choice.reason += "; int8 storage did not meet the rule: " + "; ".join(choice.int8_storage.reasons)
        choice.fp16_weights, choice.shipped = check_fp16_weights(pack)
        choice.reason += (
            f"; fp32 compute with weights stored as fp16 ({choice.fp16_weights.size_bytes} bytes, "
            f"label agreement {choice.fp16_weights.label_agreement:.4f})"
        )
    return choice


def _why_not_smaller(choice: PrecisionChoice) -> str:
    if choice.int8_weights is not None and not choice.int8_variants:
        return "int8-weights did not meet the agreement rule: " + "; ".join(choice.int8_weights.reasons)
    if choice.int8_checks:
        return "int8 met the rule on the selection flows but not on all: " + " | ".join(
            f"{c.variant}: {'; '.join(c.reasons)}" for c in choice.int8_checks
        )
    return "no int8 variant met the agreement rule: " + " | ".join(
        f"{v.variant}: {'; '.join(v.reasons)}" for v in choice.int8_variants
    )


@dataclass(frozen=True)
class FolderResult:
    config: ModelConfig
    report: ExportReport
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
    y_true: Sequence[int] | np.ndarray | None = None,
    decide: Decide | None = None,
    calibration: Calibration | None = None,
    threshold: float = 0.5,
    precision: str = "auto",
    rule: DecisionAgreementRule | None = None,
    exporters: Sequence[Exporter] = ("legacy", "dynamo"),
    selection_flows: int = 200,
    threads: int = 1,
    variants: Sequence[Int8Variant] = INT8_VARIANTS,
    max_onnx_bytes: int | None = MAX_ONNX_BYTES,
    keep_fp32_in: Path | None = None,
) -> FolderResult:
    """Export ``model``, choose its precision by measurement, and write model.onnx, tokenizer.json and
    scopeguard.json.

    ``check_convs`` are the conversations of export parity and precision agreement (validation flows in a
    real run); ``y_true`` (1 = general_assistance) adds the macro-F1 part of the rule. ``decide`` maps the
    fp32 flow logits of ``check_convs`` to (calibration, threshold) — the real run fits them there, on the
    graph that ships; without it ``calibration``/``threshold`` are used as given.
    Every int8 variant is scored on the first ``selection_flows`` check flows; the rule-passing variants
    closest to fp32 (speed breaks ties) are then checked on all of them, the first passing one ships.
    ``precision``: "auto" applies the rule ("auto-int8": dynamic int8 first), "int8"/"int8-weights"/"fp32"
    force a precision (recorded in the report). ``keep_fp32_in``: a folder that receives a copy of the
    exported fp32 graph.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if not check_convs:
        raise ValueError("write_model_folder needs check conversations for export parity")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    tokenizer.save(str(out / TOKENIZER_FILE), pretty=False)  # compact: counts toward the 60 MB budget
    encoder = ConversationEncoder(tokenizer, render, special_tokens.cls_id, special_tokens.sep_id)
    windows = [w for ws in encoder.encode_many(check_convs[:200]) for w in ws]

    with tempfile.TemporaryDirectory(prefix="scopeguard-export-", dir=out) as tmp:
        work = Path(tmp)
        fp32_path = work / FP32_FILE
        exported, exporters_report = export_checked(
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
        if decide is not None:
            fitted, fitted_threshold = decide(flow_array(fp32_raw))
            draft = draft.model_copy(update={"calibration": fitted, "threshold": fitted_threshold})
        pack = Packaging(
            work=work, draft=draft, tokenizer=tokenizer, check_convs=check_convs,
            labels=np.asarray(y_true, dtype=int) if y_true is not None else None,
            rule=rule or DecisionAgreementRule(), threads=threads, fp32_path=fp32_path,
            fp32_raw=fp32_raw, fp32_seconds=fp32_seconds,
        )  # fmt: skip
        n_sel = min(selection_flows, len(check_convs))
        choice = pick_precision(
            pack, precision, variants=variants, selection_flows=n_sel, max_onnx_bytes=max_onnx_bytes
        )
        report = ExportReport(
            exporters=exporters_report,
            exporter=exported.exporter,
            parity_max_abs_diff=exported.parity,
            weights_sha256=digest,
            fp32_seconds=fp32_seconds,
            check_flows=len(check_convs),
            selection_flows=n_sel,
            int8_variants=choice.int8_variants,
            precision_requested=precision,
            precision_reason=choice.reason,
            int8_checks=choice.int8_checks,
            precision=choice.shipped.precision,
        )
        extra = {
            "int8_weights": choice.int8_weights,
            "int8_storage": choice.int8_storage,
            "fp16_weights": choice.fp16_weights,
        }
        report = report.model_copy(update={k: v for k, v in extra.items() if v is not None})
        shutil.copyfile(choice.shipped.path, out / DEFAULT_ONNX_FILE)
        if keep_fp32_in is not None:
            keep_fp32_in.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fp32_path, keep_fp32_in / FP32_FILE)
    config = ModelConfig.model_validate({**draft.to_dict(), **config_update(choice.shipped.precision)})
    config.save(out)
    log.info("model folder %s: %s, %s", out, config.model_id, report.precision_reason)
    return FolderResult(config=config, report=report, fp32_raw=fp32_raw, shipped_raw=choice.shipped.raw)
