"""Logit -> calibrated probability -> decision: the one implementation, scalar and vectorised.

Platt scaling of a flow (or turn) logit: ``score = sigmoid(a * logit + b)`` with the model folder's
``Calibration``; ``method="none"`` (or no calibration at all) is the plain sigmoid. A flow with nothing to
score has the logit ``-inf`` and the score 0. ``calibrate`` (one logit, the inference path) and
``calibrate_array`` (many, for evaluation and precision checks) compute the same function; they may differ
in the last bit of a float (``math.exp`` against numpy's vectorised ``exp``).
"""

from __future__ import annotations

import math

import numpy as np

from classifier.model_config import Calibration


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow for any finite ``x``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """Element-wise 1 / (1 + e^-x) in the input's float precision (overflow of e^-x gives 0, as it
    should)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x)))


def calibrate(logit: float, calibration: Calibration | None) -> float:
    """The calibrated score of one logit; ``-inf`` (nothing scored) gives 0."""
    if logit == -math.inf:
        return 0.0
    if calibration is None or calibration.method == "none":
        return sigmoid(logit)
    return sigmoid(calibration.a * logit + calibration.b)


def calibrate_array(logits: np.ndarray, calibration: Calibration | None) -> np.ndarray:
    """``calibrate`` of every logit (float64); ``-inf`` gives 0."""
    logits = np.asarray(logits, dtype=np.float64)
    if calibration is None or calibration.method == "none":
        z = logits
    else:
        z = calibration.a * logits + calibration.b
    return np.where(np.isneginf(logits), 0.0, sigmoid_array(z))


def decide_array(logits: np.ndarray, calibration: Calibration | None, threshold: float) -> np.ndarray:
    """1 (general_assistance) where the calibrated score reaches ``threshold``, else 0."""
    return (calibrate_array(logits, calibration) >= threshold).astype(int)
