"""Flow-level evaluation with sklearn metrics, overall and broken down by language, domain, category, source.

Works on raw turn logits (``classifier.inference.TurnLogits``) plus the model's calibration and threshold,
so the same code scores the torch model during training, the exported ONNX model, and a model folder
(``evaluate_model``). No torch import: ``scopeguard eval`` runs on an inference-only install + sklearn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from classifier.calibration import calibrate_array
from classifier.inference import TurnLogits
from classifier.model_config import Calibration
from classifier.schema import LABELS, POSITIVE_LABEL, BusinessProfile, Conversation

BREAKDOWNS: dict[str, str] = {"lang": "lang", "domain": "meta.domain", "category": "meta.category",
                              "source": "meta.source"}  # fmt: skip
MISSING = "(none)"
DEFAULT_ECE_BINS = 10
EVAL_SLICE = 32  # conversations scored between two progress callbacks


def expected_calibration_error(
    y_true: np.ndarray, scores: np.ndarray, n_bins: int = DEFAULT_ECE_BINS
) -> float:
    """Weighted mean |accuracy - confidence| of the positive-class probability over equal-width bins."""
    y_true = np.asarray(y_true, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if len(scores) == 0:
        return float("nan")
    bins = np.minimum((scores * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            total += inside.sum() * abs(y_true[inside].mean() - scores[inside].mean())
    return float(total / len(scores))


def binary_metrics(
    y_true: ArrayLike, scores: ArrayLike, threshold: float, *, ece_bins: int = DEFAULT_ECE_BINS
) -> dict[str, Any]:
    """Accuracy, macro-F1, P/R/F1 of general_assistance, ROC-AUC, PR-AUC, ECE, confusion matrix."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    both = len(set(y.tolist())) == 2
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=[1], zero_division=0)
    return {
        "n": len(y),
        "positives": int(y.sum()),
        "accuracy": float(accuracy_score(y, pred)) if len(y) else None,
        # Over the labels present in the set: a one-label set (e.g. realdev/sgd) is not penalised for
        # the F1 of a class it does not contain.
        "macro_f1": float(f1_score(y, pred, labels=sorted(set(y.tolist())), average="macro", zero_division=0))
        if len(y)
        else None,
        "general_precision": float(p[0]),
        "general_recall": float(r[0]),
        "general_f1": float(f[0]),
        "roc_auc": float(roc_auc_score(y, s)) if both else None,
        "pr_auc": float(average_precision_score(y, s)) if both else None,
        "ece": expected_calibration_error(y, s, ece_bins),
        "confusion_matrix": {
            "labels": list(LABELS),
            "matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),  # rows true, columns predicted
        },
    }


def evidence_accuracy(convs: Sequence[Conversation], raw: Sequence[TurnLogits]) -> dict[str, Any]:
    """Share of general flows with annotated general_turns whose top-scored bot turn is one of them."""
    hits = total = 0
    for conv, logits in zip(convs, raw, strict=True):
        general = set(conv.meta.get("general_turns") or [])
        bots = {t: logit for t, (role, logit) in logits.turns.items() if role == "assistant"}
        if conv.label != POSITIVE_LABEL or not general or not bots:
            continue
        top = max(bots, key=lambda t: (bots[t], -t))
        hits += top in general
        total += 1
    return {"n": total, "accuracy": hits / total if total else None}


def scope_pair_accuracy(
    convs: Sequence[Conversation], y_true: np.ndarray, y_pred: np.ndarray
) -> dict[str, Any] | None:
    """Contrastive scope pairs (``meta.pair_id``: one exchange under two profiles with opposite labels):
    the share of pairs with both members right, overall and per language; None without pairs."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, conv in enumerate(convs):
        pair = conv.meta.get("pair_id")
        if pair is not None:
            members[str(pair)].append(i)
    complete = {pair: idx for pair, idx in members.items() if len(idx) == 2}
    if not complete:
        return None
    right = {pair: bool(all(y_true[i] == y_pred[i] for i in idx)) for pair, idx in complete.items()}
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for pair, idx in complete.items():
        by_lang[convs[idx[0]].lang or MISSING].append(right[pair])
    return {
        "pairs": len(complete),
        "accuracy": sum(right.values()) / len(right),
        "incomplete": len(members) - len(complete),
        "by_lang": {
            lang: {"pairs": len(v), "accuracy": sum(v) / len(v)} for lang, v in sorted(by_lang.items())
        },
    }


def group_value(conv: Conversation, field: str) -> str:
    if field == "lang":
        return conv.lang or MISSING
    value = conv.meta.get(field.removeprefix("meta."))
    return str(value) if value is not None else MISSING


def evaluate_flows(
    convs: Sequence[Conversation],
    raw: Sequence[TurnLogits],
    calibration: Calibration | None,
    threshold: float,
    *,
    ece_bins: int = DEFAULT_ECE_BINS,
    breakdowns: dict[str, str] = BREAKDOWNS,
) -> dict[str, Any]:
    """Metrics of labelled flows overall and per breakdown value; unlabelled flows are counted, not scored."""
    if len(convs) != len(raw):
        raise ValueError(f"{len(convs)} conversations but {len(raw)} scored flows")
    keep = [i for i, c in enumerate(convs) if c.label is not None]
    convs_l = [convs[i] for i in keep]
    logits = np.array([raw[i].flow_logit for i in keep], dtype=np.float64)
    y = np.array([int(c.label == POSITIVE_LABEL) for c in convs_l], dtype=int)
    scores = calibrate_array(logits, calibration)
    out: dict[str, Any] = {
        "flows": len(convs),
        "unlabelled": len(convs) - len(keep),
        "threshold": threshold,
        "overall": binary_metrics(y, scores, threshold, ece_bins=ece_bins),
        "ece_uncalibrated": expected_calibration_error(y, calibrate_array(logits, None), ece_bins),
        "evidence": evidence_accuracy(convs_l, [raw[i] for i in keep]),
    }
    pairs = scope_pair_accuracy(convs_l, y, (scores >= threshold).astype(int))
    if pairs is not None:
        out["scope_pairs"] = pairs
    for name, field in breakdowns.items():
        groups: dict[str, list[int]] = defaultdict(list)
        for i, conv in enumerate(convs_l):
            groups[group_value(conv, field)].append(i)
        if set(groups) == {MISSING}:
            continue
        out[f"by_{name}"] = {
            value: _group_metrics(y[idx], scores[idx], threshold) for value, idx in sorted(groups.items())
        }
    return out


def _group_metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    full = binary_metrics(y, scores, threshold)
    keys = ("n", "positives", "accuracy", "macro_f1", "general_precision", "general_recall", "general_f1")
    return {k: full[k] for k in keys}


def evaluate_model(
    model_dir: str | Path,
    convs: Sequence[Conversation],
    *,
    threads: int | None = None,
    batch_size: int | None = None,
    profile: BusinessProfile | None = None,
    on_progress: Callable[[int], None] | None = None,
    slice_size: int = EVAL_SLICE,
    compute: str = "auto",
) -> dict[str, Any]:
    """Evaluate a model folder (scopeguard.json + ONNX) on labelled conversations; ``profile``: the
    business profile of conversations without their own (classifier.profile). Scores ``slice_size``
    conversations at a time and calls ``on_progress(done)`` after each slice (progress bars).
    ``compute``: the product arithmetic (classifier.compute.choose_compute), recorded in the result."""
    from classifier.inference import Classifier

    clf = Classifier.load(model_dir, threads=threads, compute=compute)
    raw: list[TurnLogits] = []
    for start in range(0, len(convs), slice_size):
        part = convs[start : start + slice_size]
        raw += clf.turn_logits_many(part, profile=profile, batch_size=batch_size)
        if on_progress is not None:
            on_progress(len(raw))
    result = evaluate_flows(convs, raw, clf.config.calibration, clf.config.threshold)
    result["model"] = clf.model_id
    result["compute"] = clf.compute
    return result


def summary_line(name: str, metrics: dict[str, Any]) -> str:
    o = metrics["overall"]

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return (
        f"{name}: n={o['n']} acc={fmt(o['accuracy'])} macroF1={fmt(o['macro_f1'])} "
        f"P/R(general)={fmt(o['general_precision'])}/{fmt(o['general_recall'])} "
        f"ROC-AUC={fmt(o['roc_auc'])} PR-AUC={fmt(o['pr_auc'])} ECE={fmt(o['ece'])} "
        f"evidence={fmt(metrics['evidence']['accuracy'])}"
        + (
            f" scope-pairs={fmt(metrics['scope_pairs']['accuracy'])} (n={metrics['scope_pairs']['pairs']})"
            if "scope_pairs" in metrics
            else ""
        )
    )
