"""The provenance gate: only files listed in the manifest, unchanged, and marked exclusive_use are used."""

from __future__ import annotations

import json

import pytest

from classifier.manifest import ProvenanceError, gate_files, gate_splits, read_manifest
from training.data import DataError, check_disjoint, load_conversations


@pytest.fixture
def repo(tmp_path, data_tools):
    files = {
        "train": data_tools.write_gz(
            tmp_path / "data" / "train.jsonl.gz", data_tools.conversations(12, 0, 1)
        ),
        "validation": data_tools.write_gz(
            tmp_path / "data" / "val.jsonl.gz", data_tools.conversations(6, 50, 2)
        ),
    }
    data_tools.manifest(tmp_path, files)
    return tmp_path


def test_listed_unchanged_exclusive_files_pass(repo):
    gated = gate_splits(repo / "data" / "manifest.json", ["train", "validation"])
    assert [e.path.name for e in gated["train"]] == ["train.jsonl.gz"]
    convs = load_conversations([e.path for e in gated["train"]])
    assert len(convs) == 12 and all(c.label for c in convs)


def test_file_not_in_manifest_is_refused(repo, data_tools):
    stray = data_tools.write_gz(repo / "data" / "extra.jsonl.gz", data_tools.conversations(3, 90, 9))
    with pytest.raises(ProvenanceError, match="not listed in the data manifest"):
        gate_files(repo / "data" / "manifest.json", [stray])
    assert gate_files(repo / "data" / "manifest.json", [repo / "data" / "train.jsonl.gz"])


def test_changed_file_is_refused(repo):
    path = repo / "data" / "train.jsonl.gz"
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(ProvenanceError, match=r"sha256 .* does not match the manifest"):
        gate_splits(repo / "data" / "manifest.json", ["train"])


@pytest.mark.parametrize("exclusive", [False, None, "yes"])
def test_file_without_exclusive_use_is_refused(repo, exclusive):
    manifest = repo / "data" / "manifest.json"
    data = json.loads(manifest.read_text())
    if exclusive is None:
        del data["files"][0]["provenance"]["exclusive_use"]
    else:
        data["files"][0]["provenance"]["exclusive_use"] = exclusive
    manifest.write_text(json.dumps(data))
    with pytest.raises(ProvenanceError, match="exclusive_use: true"):
        gate_splits(manifest, ["train"])
    gate_splits(manifest, ["validation"])  # the other file is still fine


def test_top_level_exclusive_use_is_accepted(repo):
    manifest = repo / "data" / "manifest.json"
    data = json.loads(manifest.read_text())
    for entry in data["files"]:
        entry.pop("provenance")
        entry["exclusive_use"] = True
    manifest.write_text(json.dumps(data))
    assert all(e.exclusive_use for e in read_manifest(manifest))


def test_missing_manifest_and_unknown_split_say_what_to_do(repo, tmp_path):
    with pytest.raises(ProvenanceError, match="not found"):
        read_manifest(tmp_path / "nope.json")
    with pytest.raises(ProvenanceError, match="no file for split 'heldout'"):
        gate_splits(repo / "data" / "manifest.json", ["heldout"])


def test_bad_sha256_entry_is_refused(repo):
    manifest = repo / "data" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["sha256"] = "abc"
    manifest.write_text(json.dumps(data))
    with pytest.raises(ProvenanceError, match="64 lowercase hex"):
        read_manifest(manifest)


def test_unlabelled_or_invalid_records_are_errors_not_dropped(tmp_path, data_tools):
    records = data_tools.conversations(3, 0, 1)
    del records[1]["label"]
    records[2]["turns"][0]["role"] = "bot"
    path = data_tools.write_gz(tmp_path / "bad.jsonl.gz", records)
    with pytest.raises(DataError, match="2 unusable training records") as err:
        load_conversations([path])
    assert "label is missing" in str(err.value) and "turns[0].role" in str(err.value)


def test_same_id_in_two_splits_is_a_leak(data_tools, tmp_path):
    from classifier.schema import Conversation

    conv = Conversation.model_validate(data_tools.conversations(1, 0, 1)[0])
    with pytest.raises(DataError, match="both split"):
        check_disjoint({"train": [conv], "validation": [conv]})
