"""classifier.manifest: the schema of data/manifest.json, file hashes, and the gate on a written manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from classifier.manifest import (
    MANIFEST_VERSION,
    ManifestError,
    file_sha256,
    load_manifest,
    manifest_bytes,
    manifest_path,
    verified_data_files,
)
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


def test_committed_manifest_loads_and_writes_back_byte_for_byte(repo_root):
    path = manifest_path(repo_root)
    manifest = load_manifest(path)
    assert manifest.manifest_version == MANIFEST_VERSION and manifest.files
    assert manifest_bytes(manifest) == path.read_bytes()


def test_a_malformed_manifest_names_the_file_and_the_key(repo_root, tmp_path):
    data = json.loads(manifest_path(repo_root).read_text(encoding="utf-8"))
    del data["files"][1]["records"]
    data["files"][0]["sha256"] = "abc"
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(
        ManifestError, match=r"manifest\.json: files\.0\.sha256: .*files\.1\.records: Field required"
    ):
        load_manifest(bad)
    with pytest.raises(ManifestError, match="missing; run `scopeguard data manifest`"):
        load_manifest(tmp_path / "nope.json")


def test_file_sha256_is_hashlib_sha256(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"x" * (3 << 20))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_core_manifest_module_imports_no_generator_or_training_code():
    script = (
        "import sys, json; import classifier.manifest; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'datagen', 'training', 'cli', 'serve'})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []
