"""scopeguard review pick|label|status|export|serve as a user runs them: output, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from review_samples import write_archive

from cli.main import main


def _archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "archive.jsonl")


def test_pick_label_status_export(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, queue = _archive(tmp_path), tmp_path / "q.db"
    rc = main(
        ["review", "pick", str(archive), "--n", "6", "--queue", str(queue), "--model", str(tiny_model_dir)]
    )
    out = capsys.readouterr().out
    assert rc == 1  # invalid records were read (and quarantined); the picks are stored
    assert "43 records read: 40 considered, 3 quarantined" in out and "picked 6 conversations" in out
    assert main(["review", "status", str(queue), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["picked"] == 6 and status["labelled"] == 0 and len(status["pending_ids"]) == 6
    first = status["pending_ids"][0]
    assert main(["review", "label", str(queue), "--id", first, "--label", "business_support",
                 "--reviewer", "alice"]) == 0  # fmt: skip
    assert main(["review", "label", str(queue), "--id", first, "--label", "business_support",
                 "--reviewer", "bob"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["review", "status", str(queue), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["labelled"] == 1 and first not in status["pending_ids"]
    assert status["reviewers"] == {"alice": {"labelled": 1, "business_support": 1},
                                   "bob": {"labelled": 1, "business_support": 1}}  # fmt: skip
    assert main(["review", "export", str(queue), "--out", str(tmp_path / "own")]) == 0
    assert "exported 1 labelled conversations" in capsys.readouterr().out
    assert main(["eval", str(tmp_path / "own"), "--model", str(tiny_model_dir), "--json"]) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"just text\n", "not an SQLite file"), (b"", "no review queue there")],
)
def test_a_bad_queue_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(content)
    for argv in (["review", "status", str(path)], ["review", "export", str(path), "--out", str(tmp_path)],
                 ["review", "label", str(path), "--id", "x", "--label", "unsure"]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("scopeguard: error: ") and message in err and err.count("\n") == 1


def test_labelling_an_unknown_id_names_the_status_command(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, queue = _archive(tmp_path), tmp_path / "q.db"
    main(["review", "pick", str(archive), "--n", "2", "--queue", str(queue), "--model", str(tiny_model_dir)])
    capsys.readouterr()
    assert main(["review", "label", str(queue), "--id", "nope", "--label", "unsure"]) == 2
    assert "review status" in capsys.readouterr().err


def test_a_second_server_on_the_same_queue_fails_at_once(tmp_path: Path, tiny_model_dir: Path) -> None:
    archive, queue = _archive(tmp_path), tmp_path / "q.db"
    main(["review", "pick", str(archive), "--n", "2", "--queue", str(queue), "--model", str(tiny_model_dir)])
    cmd = [sys.executable, "-m", "cli", "review", "serve", str(queue), "--no-auth", "--port", "0"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        assert "review page:" in first.stdout.readline()
        time.sleep(0.5)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert "already being served" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)
