"""A tiny end-to-end training run: complete model folder, determinism, and learning on easy data."""

from __future__ import annotations

import json

import pytest
import yaml

from classifier.inference import Classifier
from classifier.model_config import ModelConfig
from training.config import TrainConfig
from training.export import initializer_digest
from training.train import run_training

# Wall-clock and environment dependent entries: everything else in metrics.json must be reproducible.
EXPECTED_FILES = (
    *("model.onnx", "tokenizer.json", "scopeguard.json", "metrics.json", "provenance.json", "MODEL_CARD.md"),
    *("config.yaml", "confusion_matrix.png", "pr_curve.png", "reliability.png"),
)
VOLATILE = {"seconds", "fp32_seconds", "timings_seconds", "steps_per_second", "created"}


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.fixture(scope="module")
def two_runs(synthetic_data, tiny_base, tiny_train_config, tmp_path_factory):
    runs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(f"run_{name}") / "model"
        config = tiny_train_config(synthetic_data, tiny_base, out, checkpoint_dir=out.parent / "runs")
        runs.append(run_training(config))
    return runs


def test_run_writes_a_complete_model_folder(two_runs):
    result = two_runs[0]
    folder = result.model_dir
    for name in EXPECTED_FILES:
        assert (folder / name).is_file(), name
    config = ModelConfig.load(folder)
    assert config.model_id.startswith("scopeguard-tiny-r1-")
    assert config.calibration.a > 0
    copied = TrainConfig.model_validate(yaml.safe_load((folder / "config.yaml").read_text()))
    assert copied.seed == 7
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"train", "validation", "test"}
    assert set(metrics["baselines"]) == {"tfidf_logreg", "zero_shot"}
    assert metrics["export"]["exporter"] in ("legacy", "dynamo")
    assert metrics["export"]["parity_max_abs_diff"] < 1e-4
    by_lang = metrics["splits"]["test"]["by_lang"]
    assert set(by_lang) == {"en", "de"} and sum(g["n"] for g in by_lang.values()) == 36
    provenance = json.loads((folder / "provenance.json").read_text())
    assert [f["split"] for f in provenance["data_files"]] == ["train", "validation", "test"]
    assert provenance["config_sha256"] == copied.digest()
    assert "# scopeguard-tiny-r1-" in (folder / "MODEL_CARD.md").read_text()
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir()), "staging folder left behind"


def test_run_keeps_the_torch_scorer_and_fp32_graph_outside_the_model_folder(two_runs):
    from training.model import TurnScorer
    from training.package import FP32_FILE

    folder = two_runs[0].model_dir
    kept = folder.parent / "runs" / ModelConfig.load(folder).model_id
    assert (kept / FP32_FILE).is_file()
    assert isinstance(TurnScorer.load(kept / "scorer"), TurnScorer)
    assert not (folder.parent / "runs" / ".staging").exists()


def test_same_seed_gives_identical_metrics_and_weights(two_runs):
    a, b = two_runs
    assert _stable(a.metrics) == _stable(b.metrics)
    assert initializer_digest(a.model_dir / "model.onnx") == initializer_digest(b.model_dir / "model.onnx")
    assert a.metrics["training"]["first_loss"] == b.metrics["training"]["first_loss"]


def test_training_learns_the_easy_synthetic_task(two_runs):
    metrics = two_runs[0].metrics
    assert metrics["training"]["final_loss_mean_last_50"] < metrics["training"]["first_loss"]
    assert metrics["splits"]["test"]["overall"]["roc_auc"] > 0.8


def test_shipped_model_classifies_with_its_threshold(two_runs):
    folder = two_runs[0].model_dir
    clf = Classifier.load(folder, threads=1)
    assert clf.threshold == json.loads((folder / "metrics.json").read_text())["threshold"]


def test_a_failed_export_keeps_the_trained_scorer(synthetic_data, tiny_base, tiny_train_config, tmp_path,
                                                  monkeypatch):  # fmt: skip
    import training.train as train_module
    from training.export import ExportError
    from training.model import TurnScorer

    def no_graph(*args, **kwargs):
        raise ExportError("no exporter produced a graph matching torch")

    monkeypatch.setattr(train_module, "write_model_folder", no_graph)
    out = tmp_path / "model"
    config = tiny_train_config(synthetic_data, tiny_base, out, checkpoint_dir=tmp_path / "runs")
    with pytest.raises(ExportError):
        run_training(config)
    assert isinstance(TurnScorer.load(tmp_path / "runs" / ".staging" / "scorer"), TurnScorer)
    assert not out.exists()
