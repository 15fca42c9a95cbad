"""Shared fixtures for the data-set tests: the committed split files, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.manifest import read_conversations
from classifier.schema import Conversation
from datagen import checks
from datagen.config import SPLITS, load_config
from datagen.engine import SPLIT_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def generated() -> dict[str, list[Conversation]]:
    """split -> conversations of the committed data/generated files (schema-validated while reading)."""
    config = load_config(REPO_ROOT / "data" / "generate.yaml")
    out = {}
    for split in SPLITS:
        path = REPO_ROOT / config.output_dir / SPLIT_FILE.format(split=split)
        if not path.exists():
            pytest.fail(f"{path} missing: run `scopeguard data generate`")
        out[split] = list(read_conversations(path))
    return out


@pytest.fixture(scope="session")
def all_generated(generated) -> list[Conversation]:
    return [c for convs in generated.values() for c in convs]


@pytest.fixture(scope="session")
def unpaired(all_generated) -> list[Conversation]:
    """The conversations that are not scope pairs: the flows whose shares the config sets."""
    return [c for c in all_generated if c.meta.get("pair_id") is None]


@pytest.fixture(scope="session")
def dataset_shares(unpaired) -> checks.Shares:
    return checks.shares(unpaired)
