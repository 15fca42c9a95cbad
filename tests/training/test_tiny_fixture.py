"""The committed tiny model (tests/fixtures/tiny_model) is what the training code builds today."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from classifier.model_config import MODEL_CONFIG_FILE
from training.tiny import build_test_fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COMMITTED = FIXTURES / "tiny_model"
VOLATILE = ("created",)  # when the folder was written: the only field that may differ


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stable_config(folder: Path) -> dict[str, object]:
    config = json.loads((folder / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    return {key: value for key, value in config.items() if key not in VOLATILE}


def test_the_committed_tiny_model_is_rebuilt_identically(tmp_path):
    rebuilt = build_test_fixture(tmp_path / "tiny_model", FIXTURES / "sample.jsonl")
    committed_files = sorted(p.name for p in COMMITTED.iterdir())
    assert sorted(p.name for p in rebuilt.iterdir()) == committed_files, "rerun: python -m training.tiny"
    for name in committed_files:
        if name != MODEL_CONFIG_FILE:
            assert digest(rebuilt / name) == digest(COMMITTED / name), (
                f"{name}: rerun python -m training.tiny"
            )
    assert stable_config(rebuilt) == stable_config(COMMITTED)
