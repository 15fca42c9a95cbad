"""The queue file: refused when it is not a queue, every change kept, transactional, no lost label."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from review.queue import ConflictError, QueueError, ReviewQueue
from review.status import cohen_kappa, item_states, queue_status


def test_a_file_that_is_not_sqlite_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello, not a database\n")
    with pytest.raises(QueueError, match="not a review queue: it is not an SQLite file"):
        ReviewQueue.open(path)
    assert path.read_text() == "hello, not a database\n"  # never overwritten


def test_a_foreign_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    for create in (False, True):
        with pytest.raises(QueueError, match=r"not a scopeguard review queue .*customers"):
            ReviewQueue.open(path, create=create)


def test_a_corrupt_queue_is_refused(queue_file: Path) -> None:
    data = bytearray(queue_file.read_bytes())
    data[200:4000] = b"\xff" * 3800  # damage the pages after the header
    queue_file.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(str(queue_file) + suffix).unlink(missing_ok=True)
    with pytest.raises(QueueError, match=r"damaged|not a usable review queue"):
        ReviewQueue.open(queue_file)


def test_a_queue_of_another_version_is_refused(queue_file: Path) -> None:
    with sqlite3.connect(queue_file) as conn:
        conn.execute("UPDATE queue_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(QueueError, match="schema version 99"):
        ReviewQueue.open(queue_file)


def test_a_missing_queue_names_the_command_that_makes_one(tmp_path: Path) -> None:
    with pytest.raises(QueueError, match="review pick"):
        ReviewQueue.open(tmp_path / "nope.db")


def test_every_change_is_kept_and_undo_restores_the_previous_answer(queue_file: Path) -> None:
    with ReviewQueue.open(queue_file) as queue:
        item = queue.items()[0]
        bots = [i for i, t in enumerate(item.turns) if t["role"] == "assistant"]
        queue.record(item.id, "alice", "label", label="business_support")
        queue.record(
            item.id, "alice", "label", label="general_assistance", general_turns=bots[-1:], note="poem"
        )
        assert queue.answers()[(item.id, "alice")].label == "general_assistance"
        undo = queue.undo("alice")
        assert undo is not None and undo.item_id == item.id
        assert queue.answers()[(item.id, "alice")].label == "business_support"
        assert [e.action for e in queue.events()] == ["label", "label", "undo"]
        assert all(e.reviewer == "alice" and e.at for e in queue.events())
        queue.undo("alice")
        assert (item.id, "alice") not in queue.answers()
        assert queue.undo("alice") is None


def test_bad_answers_are_refused_and_write_nothing(queue_file: Path) -> None:
    with ReviewQueue.open(queue_file) as queue:
        item = queue.items()[0]
        users = [i for i, t in enumerate(item.turns) if t["role"] == "user"]
        with pytest.raises(QueueError, match="not bot turns"):
            queue.record(item.id, "alice", "label", label="general_assistance", general_turns=users)
        with pytest.raises(QueueError, match="only general_assistance"):
            queue.record(item.id, "alice", "label", label="business_support", general_turns=[1])
        with pytest.raises(QueueError, match="not one of"):
            queue.record(item.id, "alice", "label", label="maybe")
        with pytest.raises(QueueError, match="reviewer name"):
            queue.record(item.id, "a b", "label", label="unsure")
        assert queue.events() == []


def test_a_stale_write_is_refused_instead_of_overwriting(queue_file: Path) -> None:
    with ReviewQueue.open(queue_file) as queue:
        item = queue.items()[0]
        first = queue.record(item.id, "alice", "label", label="business_support", expected=0)
        with pytest.raises(ConflictError, match="another session"):
            queue.record(item.id, "alice", "label", label="general_assistance", expected=0)
        queue.record(item.id, "alice", "label", label="unsure", expected=first.id)
        assert queue.answers()[(item.id, "alice")].label == "unsure"


def test_two_reviewers_labelling_the_same_item_at_once_lose_nothing(queue_file: Path) -> None:
    """Many concurrent writers on separate connections (as two pages or a page and the CLI are)."""
    with ReviewQueue.open(queue_file) as queue:
        item_ids = [i.id for i in queue.items()]
    errors: list[BaseException] = []

    def reviewer(name: str, label: str) -> None:
        try:
            with ReviewQueue.open(queue_file) as own:
                for item_id in item_ids:
                    own.record(item_id, name, "label", label=label)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    plan = (("alice", "business_support"), ("bob", "general_assistance"), ("carol", "business_support"))
    threads = [threading.Thread(target=reviewer, args=(n, lab)) for n, lab in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with ReviewQueue.open(queue_file) as queue:
        assert len(queue.events()) == 3 * len(item_ids)
        status = queue_status(queue)
    assert status["labelled"] == len(item_ids)
    assert len(status["agreement"]["disagreements"]) == len(item_ids)
    assert {r: c["labelled"] for r, c in status["reviewers"].items()} == dict.fromkeys(
        ("alice", "bob", "carol"), len(item_ids)
    )


def test_a_label_confirmed_before_a_kill_is_on_disk(queue_file: Path) -> None:
    """A process killed right after a label returned: a fresh connection sees the label."""
    import subprocess
    import sys

    with ReviewQueue.open(queue_file) as queue:
        item_id = queue.items()[0].id
    code = (
        "import os, sys; from review.queue import ReviewQueue\n"
        f"q = ReviewQueue.open({str(queue_file)!r})\n"
        f"q.record({item_id}, 'alice', 'label', label='general_assistance')\n"
        "print('confirmed', flush=True); os._exit(9)\n"  # no clean shutdown, no close
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "confirmed" in done.stdout and done.returncode == 9
    with ReviewQueue.open(queue_file) as queue:
        assert queue.answers()[(item_id, "alice")].label == "general_assistance"


def test_cohen_kappa() -> None:
    a = ["g", "g", "b", "b", "b", "b"]
    assert cohen_kappa(a, a) == 1.0
    assert cohen_kappa(a, ["b", "g", "b", "b", "b", "g"]) == pytest.approx(0.25)  # po 4/6, pe 5/9
    assert cohen_kappa(["b", "b"], ["b", "b"]) is None  # chance agreement is 1: undefined
    assert cohen_kappa([], []) is None


def test_states_agree_only_on_definite_labels(queue_file: Path) -> None:
    with ReviewQueue.open(queue_file) as queue:
        item = queue.items()[0]
        queue.record(item.id, "alice", "label", label="business_support")
        queue.record(item.id, "bob", "label", label="unsure")
        state = next(s for s in item_states(queue) if s.item.id == item.id)
    assert state.labelled and state.agreed_label == "business_support"
