"""Platt scaling of flow logits and the threshold policy (target precision of general_assistance)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve

from classifier.model_config import Calibration


def fit_platt(logits: np.ndarray, y_true: np.ndarray) -> tuple[Calibration, str | None]:
    """score = sigmoid(a * logit + b) fitted by (almost unregularised) logistic regression.

    Returns the calibration and a note when it had to fall back to the identity (one class only, or a
    non-positive slope, which would invert the ranking the threshold relies on).
    """
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y_true, dtype=int)
    finite = np.isfinite(logits)
    if len(set(y[finite].tolist())) < 2:
        return Calibration(
            method="platt", a=1.0, b=0.0
        ), "validation has one label only: identity calibration"
    lr = LogisticRegression(C=1e6, max_iter=1000)
    lr.fit(logits[finite].reshape(-1, 1), y[finite])
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if not a > 0:
        return Calibration(method="platt", a=1.0, b=0.0), f"fitted slope a={a:.4g} is not positive: identity"
    return Calibration(method="platt", a=a, b=b), None


def choose_threshold(
    y_true: np.ndarray, scores: np.ndarray, *, target_precision: float, fallback: float
) -> tuple[float, dict[str, Any]]:
    """The threshold with the highest general_assistance recall among those reaching ``target_precision``.

    Falls back to ``fallback`` (and says so) when no threshold reaches the precision.
    """
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=np.float64)
    if y.sum() == 0:
        return fallback, {"policy": "fallback", "reason": "no general_assistance flow in validation"}
    precision, recall, thresholds = precision_recall_curve(y, s)
    # precision/recall have one more entry than thresholds (the final point: recall 0).
    ok = np.nonzero(precision[:-1] >= target_precision)[0]
    if len(ok) == 0:
        return fallback, {
            "policy": "fallback",
            "reason": f"no threshold reaches precision {target_precision} (best {precision[:-1].max():.3f})",
        }
    best = ok[np.argmax(recall[ok])]
    # Among equal-recall thresholds keep the lowest (the first in sklearn's increasing order).
    return float(thresholds[best]), {
        "policy": "max recall at target precision",
        "target_precision": target_precision,
        "validation_precision": float(precision[best]),
        "validation_recall": float(recall[best]),
    }
