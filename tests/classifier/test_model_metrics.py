"""metrics.json has one shape, in code: classifier.model_metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from classifier.model_config import METRICS_FILE
from classifier.model_metrics import MetricsSummary, ModelMetrics

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"


def test_the_shipped_models_metrics_validate_and_round_trip() -> None:
    metrics = ModelMetrics.load(SHIPPED)
    assert metrics is not None
    assert metrics.model_id.startswith("scopeguard-")
    # the shipped precision was chosen by a check that passed the agreement rule
    export = metrics.export
    chosen = export.int8_weights if export.precision == "int8-weights" else export.int8_storage
    assert chosen is not None and chosen.passes, export.precision_reason
    assert set(metrics.splits) >= {"validation", "test"}
    raw = json.loads((SHIPPED / METRICS_FILE).read_text(encoding="utf-8"))
    # nothing added, dropped or reordered: writing it back gives the same file content
    assert json.dumps(metrics.to_dict()) == json.dumps(raw)


def test_a_file_of_another_shape_is_refused_naming_it(tmp_path: Path) -> None:
    raw = json.loads((SHIPPED / METRICS_FILE).read_text(encoding="utf-8"))
    del raw["splits"]["test"]["overall"]["macro_f1"]
    (tmp_path / METRICS_FILE).write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"(?s)metrics.json is not a valid metrics file.*macro_f1"):
        ModelMetrics.load(tmp_path)
    raw = json.loads((SHIPPED / METRICS_FILE).read_text(encoding="utf-8"))
    raw["export"]["surprise"] = 1
    (tmp_path / METRICS_FILE).write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="surprise"):
        ModelMetrics.load(tmp_path)


def test_no_file_is_none(tmp_path: Path) -> None:
    assert ModelMetrics.load(tmp_path) is None and MetricsSummary.load(tmp_path) is None


def test_the_service_summary_reads_the_headline_of_the_full_file(tmp_path: Path) -> None:
    shutil.copyfile(SHIPPED / METRICS_FILE, tmp_path / METRICS_FILE)
    summary = MetricsSummary.load(tmp_path)
    assert summary is not None
    full = ModelMetrics.load(tmp_path)
    assert full is not None
    out = summary.to_dict()
    assert out["precision"] == full.precision and out["threshold"] == full.threshold
    assert out["splits"]["test"]["macro_f1"] == full.splits["test"].overall.macro_f1
    assert "confusion_matrix" not in out["splits"]["test"]
