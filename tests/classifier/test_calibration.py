"""Logit -> probability -> decision has one implementation (classifier.calibration), scalar and vectorised."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from classifier.calibration import calibrate, calibrate_array, decide_array, sigmoid, sigmoid_array
from classifier.model_config import Calibration

REPO = Path(__file__).resolve().parents[2]
LOGITS = np.array([-math.inf, -800.0, -40.0, -3.5, -1e-9, 0.0, 1e-9, 0.7, 12.0, 40.0, 800.0])
PLATT = Calibration(method="platt", a=0.8, b=-0.3)


@pytest.mark.parametrize("calibration", [None, Calibration(method="none"), PLATT])
def test_scalar_and_vectorised_calibration_agree(calibration: Calibration | None) -> None:
    many = calibrate_array(LOGITS, calibration)
    one = np.array([calibrate(float(x), calibration) for x in LOGITS])
    np.testing.assert_allclose(many, one, rtol=1e-15, atol=1e-300)
    assert many[0] == one[0] == 0.0  # nothing scored
    assert np.all(np.diff(many) >= 0), "calibration keeps the ranking"


def test_platt_is_applied_before_the_sigmoid() -> None:
    assert calibrate(1.0, PLATT) == pytest.approx(sigmoid(0.8 * 1.0 - 0.3))
    assert calibrate(1.0, Calibration(method="none", a=0.8, b=-0.3)) == pytest.approx(sigmoid(1.0))
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0


def test_sigmoid_array_keeps_the_input_precision() -> None:
    assert sigmoid_array(np.array([0.5], dtype=np.float32)).dtype == np.float32
    assert sigmoid_array(np.array([0.5])).dtype == np.float64


def test_decisions_use_the_calibrated_score_and_the_threshold() -> None:
    logits = np.array([-math.inf, -1.0, 0.375, 2.0])
    threshold = calibrate(0.375, PLATT)
    assert decide_array(logits, PLATT, threshold).tolist() == [0, 0, 1, 1]


def test_no_other_module_computes_a_sigmoid() -> None:
    """The copies in inference, evaluation and packaging are gone: only classifier/calibration.py."""
    pattern = re.compile(r"1(\.0)?\s*/\s*\(\s*1(\.0)?\s*\+\s*(np|math|torch)\.exp\(")
    found = [
        str(path.relative_to(REPO))
        for package in ("classifier", "training", "serve", "cli", "benchmarks")
        for path in (REPO / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["classifier/calibration.py"]
