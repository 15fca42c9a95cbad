"""The manifest written from the data files feeds the core's provenance gate."""

from __future__ import annotations

import shutil

import pytest

from classifier.manifest import ManifestError, verified_data_files
from datagen.engine import encode_jsonl_gz
from datagen.manifest import write_manifest


def test_gate_rejects_a_changed_file(repo_root, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(
        repo_root / "data", root / "data", ignore=shutil.ignore_patterns("fragments", "__pycache__")
    )
    write_manifest(root)
    assert len(verified_data_files(root, ("train", "validation"))) == 2
    path = root / "data" / "generated" / "validation.jsonl.gz"
    path.write_bytes(encode_jsonl_gz([{"id": "x", "turns": [{"role": "user", "text": "hi"}]}]))
    with pytest.raises(ManifestError, match=r"validation\.jsonl\.gz: sha256"):
        verified_data_files(root, ("validation",))
    assert len(verified_data_files(root, ("train",))) == 1
