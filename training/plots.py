"""Plots of a training run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay

from classifier.schema import LABELS

CONFUSION_FILE = "confusion_matrix.png"
PR_FILE = "pr_curve.png"
RELIABILITY_FILE = "reliability.png"


def plot_confusion(y: np.ndarray, scores: np.ndarray, threshold: float, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ConfusionMatrixDisplay.from_predictions(
        y,
        (scores >= threshold).astype(int),
        labels=[0, 1],
        display_labels=list(LABELS),
        ax=ax,
        colorbar=False,
    )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pr(curves: dict[str, tuple[np.ndarray, np.ndarray]], threshold_point: tuple[float, float] | None,
            path: Path) -> Path:  # fmt: skip
    """Precision-recall of general_assistance per named split; the chosen operating point as a dot."""
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, (y, scores) in curves.items():
        if len(set(y.tolist())) == 2:
            PrecisionRecallDisplay.from_predictions(y, scores, name=name, ax=ax)
    if threshold_point is not None:
        ax.plot([threshold_point[1]], [threshold_point[0]], "ko", label="chosen threshold (validation)")
    ax.set_title("general_assistance precision-recall")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, n_bins: int = 10) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
    for name, (y, scores) in curves.items():
        frac, mean = calibration_curve(y, scores, n_bins=n_bins, strategy="uniform")
        ax.plot(mean, frac, "o-", label=name)
    ax.set_xlabel("predicted P(general_assistance)")
    ax.set_ylabel("observed share of general_assistance")
    ax.set_title("reliability diagram")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
