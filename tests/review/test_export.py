"""review export: schema-v1 records with the review's meta, a manifest the provenance gate accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.manifest import gate_splits, load_manifest
from classifier.schema import Conversation
from review.export import OWN_SPLIT, export_queue, read_export
from review.queue import ReviewQueue


def _label_all(queue_file: Path) -> dict[str, str]:
    with ReviewQueue.open(queue_file) as queue:
        items = queue.items()
        expected = {}
        for k, item in enumerate(items):
            bots = [i for i, t in enumerate(item.turns) if t["role"] == "assistant"]
            if k == 0:
                queue.record(item.id, "alice", "label", label="general_assistance", general_turns=bots[-1:])
                queue.record(item.id, "bob", "label", label="general_assistance", note="a poem")
                expected[item.conv_id] = "general_assistance"
            elif k == 1:  # disagreement: left out
                queue.record(item.id, "alice", "label", label="general_assistance")
                queue.record(item.id, "bob", "label", label="business_support")
            elif k == 2:  # unsure only: left out
                queue.record(item.id, "alice", "label", label="unsure")
            elif k == 3:  # skipped: left out
                queue.record(item.id, "alice", "skip")
            else:
                queue.record(item.id, "alice", "label", label="business_support")
                expected[item.conv_id] = "business_support"
    return expected


def test_export_writes_schema_v1_with_the_reviews_meta(queue_file: Path, tmp_path: Path) -> None:
    expected = _label_all(queue_file)
    report = export_queue(queue_file, tmp_path / "own")
    assert (report.exported, report.disagreements, report.unlabelled) == (len(expected), 1, 2)
    records = read_export(report.out)
    assert {r["id"]: r["label"] for r in records} == expected
    first = records[0]
    Conversation.model_validate(first)
    assert first["label"] == "general_assistance" and len(first["meta"]["general_turns"]) == 1
    assert first["meta"]["review"]["reviewers"] == ["alice", "bob"]
    assert first["meta"]["review"]["notes"] == {"bob": "a poem"}
    assert first["meta"]["review"]["at"].endswith("Z")
    assert all(r["meta"]["general_turns"] == [] for r in records if r["label"] == "business_support")


def test_the_manifest_records_own_data_and_the_gate_accepts_it(queue_file: Path, tmp_path: Path) -> None:
    _label_all(queue_file)
    report = export_queue(queue_file, tmp_path / "own")
    manifest = load_manifest(report.manifest)  # the full schema of data/manifest.json
    (entry,) = manifest.files
    assert entry.split == OWN_SPLIT and entry.provenance.exclusive_use is True
    assert entry.records == report.exported
    (gated,) = gate_splits(report.manifest, [OWN_SPLIT])[OWN_SPLIT]
    assert gated.path == report.out.resolve()
    report.out.write_text(report.out.read_text() + "\n")  # changed after export: the gate refuses it
    with pytest.raises(ValueError, match="does not match the manifest"):
        gate_splits(report.manifest, [OWN_SPLIT])


def test_exporting_again_replaces_the_entry(queue_file: Path, tmp_path: Path) -> None:
    _label_all(queue_file)
    export_queue(queue_file, tmp_path / "own")
    report = export_queue(queue_file, tmp_path / "own")
    assert len(load_manifest(report.manifest).files) == 1


def test_the_profile_travels_with_the_record(tmp_path: Path, archive: Path, pick_into) -> None:  # type: ignore[no-untyped-def]
    from classifier.schema import BusinessProfile

    queue = tmp_path / "q.db"
    pick_into(archive, queue, n=2, profile=BusinessProfile(name="Aurora", description="fashion shop"))
    with ReviewQueue.open(queue) as q:
        for item in q.items():
            q.record(item.id, "alice", "label", label="business_support")
    (record, *_) = read_export(export_queue(queue, tmp_path / "own").out)
    assert record["meta"]["business"] == {"name": "Aurora", "description": "Aurora. fashion shop"}
