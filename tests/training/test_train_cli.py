"""``scopeguard train`` flags: what each overrides in the config the run gets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import training.train
from cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flags", "autocast"), [([], "bf16"), (["--autocast", "none"], "none")])
def test_autocast_flag_overrides_the_config(monkeypatch, flags, autocast):
    seen = []

    def fake_run(config):
        seen.append(config)
        return SimpleNamespace(model_dir=config.output_dir, metrics={"model_id": "m", "precision": "fp32"})

    monkeypatch.setattr(training.train, "run_training", fake_run)
    config = REPO_ROOT / "training" / "config.yaml"
    assert main(["train", "--config", str(config), "--no-progress", *flags]) == 0
    assert seen[0].optim.autocast == autocast
