"""review pick: invalid records accounted for as in score, only what review needs stored, repeat picks add."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from review.pick import PickReport, default_quarantine
from review.queue import ReviewQueue


def test_invalid_records_are_quarantined_and_counted(
    tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]
) -> None:
    queue = tmp_path / "q.db"
    report = pick_into(archive, queue, n=8)
    assert (report.read, report.considered, report.invalid) == (43, 40, 3)  # read = considered + invalid
    assert report.added == 8
    rows = [json.loads(line) for line in default_quarantine(queue).read_text().splitlines()]
    assert len(rows) == 3
    assert any("duplicate id" in r["reason"] for r in rows)
    assert any("role" in r["reason"] for r in rows)
    with ReviewQueue.open(queue) as q:
        (run,) = q.runs()
    assert (run.read, run.considered, run.invalid, run.added) == (43, 40, 3, 8)


def test_only_what_review_needs_is_stored(
    tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]
) -> None:
    queue = tmp_path / "q.db"
    pick_into(archive, queue, n=5)
    with ReviewQueue.open(queue) as q:
        item = q.items()[0]
    assert set(item.turns[0]) == {"role", "text"}  # no timestamps or other meta
    assert item.pre_label in ("business_support", "general_assistance")
    assert item.evidence and item.turn_scores
    assert {"uncertainty", "stratum", "priority"} <= set(item.reasons) or item.reasons.get("random")


def test_phone_numbers_in_ids_are_pseudonymised(tmp_path: Path, pick_into: Callable[..., PickReport]) -> None:
    path = tmp_path / "wa.jsonl"
    conv = {"id": "+4915123456789:1773482400", "turns": [{"role": "user", "text": "where is my order?"}]}
    path.write_text(json.dumps(conv) + "\n")
    pick_into(path, tmp_path / "q.db", n=1)
    with ReviewQueue.open(tmp_path / "q.db") as q:
        (item,) = q.items()
    assert "4915123456789" not in item.conv_id and item.conv_id.startswith("p-")


def test_picking_again_adds_new_conversations_only(
    tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]
) -> None:
    queue = tmp_path / "q.db"
    pick_into(archive, queue, n=10)
    second = pick_into(archive, queue, n=10)
    assert second.already_queued == 10 and second.considered == 30
    with ReviewQueue.open(queue) as q:
        ids = [i.conv_id for i in q.items()]
        assert [i.rank for i in q.items()] == list(range(1, 21))
    assert len(ids) == len(set(ids)) == 20


def test_the_business_profile_is_kept_with_each_item(
    tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]
) -> None:
    from classifier.schema import BusinessProfile

    profile = BusinessProfile(name="Loja Aurora", description="Online fashion shop: orders, returns, sizes.")
    pick_into(archive, tmp_path / "q.db", n=3, profile=profile)
    with ReviewQueue.open(tmp_path / "q.db") as q:
        item = q.items()[0]
        (run,) = q.runs()
    assert item.profile is not None
    assert item.profile["source"] == "default" and item.profile["name"] == "Loja Aurora"
    assert "fashion" in item.profile["text"]
    assert run.profile is not None and run.profile["name"] == "Loja Aurora"
