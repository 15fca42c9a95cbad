"""data.own: the company's reviewed conversations, mixed in through their own manifest, split by id."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from training.config import OwnDataConfig, load_config
from training.train import load_splits, own_part, own_weighted, with_own_data


def _own(root: Path, data_tools, n: int = 60) -> Path:  # type: ignore[no-untyped-def]
    records = data_tools.conversations(n, 900, 5)
    path = data_tools.write_gz(root / "own" / "reviewed.jsonl.gz", records)
    manifest = root / "own" / "manifest.json"
    manifest.write_text(json.dumps({"files": [{
        "path": path.name, "split": "own", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "provenance": {"exclusive_use": True}}]}))  # fmt: skip
    return manifest


def test_split_by_conversation_is_stable_and_near_the_shares() -> None:
    parts = [own_part(f"conv-{i}", 0.2, 0.2) for i in range(2000)]
    assert parts == [own_part(f"conv-{i}", 0.2, 0.2) for i in range(2000)]
    assert 0.15 < parts.count("validation") / 2000 < 0.25 and 0.15 < parts.count("test") / 2000 < 0.25


def test_without_own_data_the_config_is_unchanged(tmp_path: Path, synthetic_data: Path, tiny_base: Path,
                                                  tiny_train_config) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    config = tiny_train_config(synthetic_data, tiny_base, tmp_path / "m")
    config = config.model_copy(update={"data": config.data.model_copy(
        update={"own": OwnDataConfig(manifest=tmp_path / "absent" / "manifest.json")})})  # fmt: skip
    assert with_own_data(config) is config


def test_own_data_joins_every_role_and_no_conversation_is_in_two(
    tmp_path: Path,
    synthetic_data: Path,
    tiny_base: Path,
    tiny_train_config,
    data_tools,  # type: ignore[no-untyped-def]
) -> None:
    manifest = _own(tmp_path, data_tools)
    config = tiny_train_config(synthetic_data, tiny_base, tmp_path / "m")
    config = config.model_copy(
        update={"data": config.data.model_copy(update={"own": OwnDataConfig(manifest=manifest)})}
    )
    mixed = with_own_data(config)
    assert mixed.data.train_splits == ("train", "own/train")
    assert mixed.data.validation_splits == ("validation", "own/validation")
    assert mixed.data.test_splits == ("test", "own/test")
    convs, entries = load_splits(mixed)
    own_ids = [c.id for s in ("own/train", "own/validation", "own/test") for c in convs[s]]
    assert len(own_ids) == len(set(own_ids)) == 60
    assert entries["own/train"][0].split == "own"
    assert with_own_data(mixed) == mixed  # the saved copy repeats the run


def test_own_data_outside_the_gate_is_refused(tmp_path: Path, synthetic_data: Path, tiny_base: Path,
                                              tiny_train_config, data_tools) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    manifest = _own(tmp_path, data_tools)
    (tmp_path / "own" / "reviewed.jsonl.gz").write_bytes(b"changed")
    config = tiny_train_config(synthetic_data, tiny_base, tmp_path / "m")
    config = config.model_copy(
        update={"data": config.data.model_copy(update={"own": OwnDataConfig(manifest=manifest)})}
    )
    with pytest.raises(ValueError, match="does not match the manifest"):
        with_own_data(config)


def test_weight_repeats_own_examples() -> None:
    examples = list(range(10))
    assert len(own_weighted(examples, 2.0, 0)) == 20  # type: ignore[arg-type]
    assert len(own_weighted(examples, 1.5, 0)) == 15  # type: ignore[arg-type]


def test_the_shipped_config_reads_own_data_from_data_own() -> None:
    config = load_config(Path(__file__).parents[2] / "training" / "config.yaml")
    assert config.data.own is not None and config.data.own.manifest == Path("data/own/manifest.json")
    with pytest.raises(ValueError, match="below 1"):
        OwnDataConfig(validation_share=0.5, test_share=0.5)
