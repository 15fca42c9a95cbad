"""A tiny distillation end to end: make train's teacher, then ``scopeguard train`` with a student section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from classifier.inference import Classifier
from classifier.model_config import ModelConfig
from cli.main import main
from training.distill import folder_sha256
from training.model import TurnScorer
from training.tiny import FALLBACK_TEXTS, conversations_from_texts
from training.train import run_training

EXPECTED_FILES = (
    *("model.onnx", "tokenizer.json", "scopeguard.json", "metrics.json", "provenance.json", "MODEL_CARD.md"),
    *("config.yaml", "confusion_matrix.png", "pr_curve.png", "reliability.png"),
)


@pytest.fixture(scope="module")
def runs(synthetic_data, tiny_base, tiny_train_config, tmp_path_factory):
    """The teacher (2 layers) and, through the CLI, its 1-layer student; both keep their scorer in runs/."""
    root = tmp_path_factory.mktemp("distill")
    runs_dir = root / "runs"
    teacher_config = tiny_train_config(synthetic_data, tiny_base, root / "teacher", checkpoint_dir=runs_dir)
    teacher = run_training(teacher_config).model_dir
    settings = yaml.safe_load(teacher_config.to_yaml())
    settings["output_dir"] = str(root / "student")
    settings["student"] = {"teacher_model": str(teacher), "layers": [1], "alpha": 0.5, "temperature": 2.0}
    path = root / "config-student.yaml"
    path.write_text(yaml.safe_dump(settings))
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    return teacher, root / "student"


def test_student_folder_is_complete_and_has_its_own_model_id(runs):
    teacher, student = runs
    for name in EXPECTED_FILES:
        assert (student / name).is_file(), name
    teacher_id, student_id = ModelConfig.load(teacher).model_id, ModelConfig.load(student).model_id
    assert student_id.startswith("scopeguard-tiny-l1-r1-") and teacher_id.startswith("scopeguard-tiny-r1-")
    kept = student.parent / "runs" / student_id / "scorer"
    assert TurnScorer.load(kept).config.num_hidden_layers == 1


def test_student_records_its_teacher_and_kept_layers(runs):
    teacher, student = runs
    teacher_id = ModelConfig.load(teacher).model_id
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["training"]["distillation"] == {
        "teacher_model_id": teacher_id,
        "teacher_layers": 2,
        "layers": [1],
        "alpha": 0.5,
        "temperature": 2.0,
        "int8_aware": False,
    }
    provenance = json.loads((student / "provenance.json").read_text())
    scorer = student.parent / "runs" / teacher_id / "scorer"
    assert provenance["teacher"] == {
        "model_id": teacher_id,
        "path": str(scorer),
        "sha256": folder_sha256(scorer),
    }
    card = (student / "MODEL_CARD.md").read_text()
    assert f"Distilled student of **{teacher_id}**: keeps encoder layers [1] of its 2" in card
    assert yaml.safe_load((student / "config.yaml").read_text())["student"]["layers"] == [1]


def test_teacher_run_is_a_plain_fine_tuning_run(runs):
    teacher, _ = runs
    assert "distillation" not in json.loads((teacher / "metrics.json").read_text())["training"]
    assert "teacher" not in json.loads((teacher / "provenance.json").read_text())
    assert "student" not in yaml.safe_load((teacher / "config.yaml").read_text())
    assert "Distilled" not in (teacher / "MODEL_CARD.md").read_text()


def test_student_scores_with_the_classifier_and_learnt_the_task(runs):
    _, student = runs
    clf = Classifier.load(student, threads=1)
    preds = clf.classify(conversations_from_texts(FALLBACK_TEXTS))
    assert preds and all(0.0 <= p.score <= 1.0 for p in preds)
    metrics = json.loads((student / "metrics.json").read_text())
    assert clf.threshold == metrics["threshold"]
    assert metrics["splits"]["test"]["overall"]["roc_auc"] > 0.8


def test_teacher_flag_needs_a_student_section(runs, tmp_path, capsys):
    teacher, _ = runs
    path = tmp_path / "config.yaml"
    path.write_text((teacher / "config.yaml").read_text())
    assert main(["train", "--config", str(path), "--teacher", str(tmp_path)]) == 2
    assert "--teacher needs a config with a student section" in capsys.readouterr().err


def test_an_int8_aware_run_is_named_recorded_and_tries_dynamic_int8_first(runs, tmp_path):
    """Quantisation-aware fine-tuning (training.int8_aware): all of the teacher's layers, trained with
    dynamic int8's rounding; the packaging rule then checks the int8 variants before anything else."""
    teacher, _ = runs
    settings = yaml.safe_load((teacher / "config.yaml").read_text())
    settings["output_dir"] = str(tmp_path / "q8")
    settings["quantization"]["precision"] = "auto-int8"
    settings["student"] = {"teacher_model": str(teacher), "layers": [0, 1], "int8_aware": True}
    path = tmp_path / "config-int8.yaml"
    path.write_text(yaml.safe_dump(settings))
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    folder = tmp_path / "q8"
    assert ModelConfig.load(folder).model_id.startswith("scopeguard-tiny-l2-q8-r1-")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["training"]["distillation"]["int8_aware"] is True
    assert metrics["export"]["int8_variants"], "auto-int8 checks the dynamic int8 variants first"
    assert "Trained int8-aware" in (folder / "MODEL_CARD.md").read_text()
    kept = TurnScorer.load(Path(settings["checkpoint_dir"]) / ModelConfig.load(folder).model_id / "scorer")
    assert not any("linear.weight" in k or "embedding.weight" in k for k in kept.state_dict())
