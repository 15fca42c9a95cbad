"""``scopeguard score``: accounting, input order, every format, outputs, strict, resume after SIGKILL."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from score_helpers import jsonl_rows, run_cli

from classifier.inference import Classifier
from classifier.model_path import MODEL_ENV_VAR
from classifier.readers import Record, read_conversations
from classifier.scoring.checkpoint import Checkpoint, checkpoint_path
from classifier.scoring.progress import Progress, count_lines
from cli.main import main

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
BAD = FIXTURES / "bad"
GOOD_FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file() and not p.name.endswith(".meta.json"))
SUMMARY_PREFIX = "records read:"


def score(capsys, *argv: object) -> tuple[int, str, str]:
    return run_cli(capsys, "score", *argv)


rows = jsonl_rows


def summary_line(out: str) -> str:
    return next(line for line in out.splitlines() if SUMMARY_PREFIX in line)


def test_every_record_is_scored_or_quarantined(capsys, tmp_path, tiny_model_dir):
    out = tmp_path / "scores.jsonl"
    quarantine = tmp_path / "q.jsonl"
    code, stdout, _ = score(
        capsys, *GOOD_FILES, BAD, "--model", tiny_model_dir, "--out", out, "--quarantine", quarantine
    )
    assert code == 0
    items = list(read_conversations([*GOOD_FILES, BAD]))
    valid = [i for i in items if isinstance(i, Record)]
    unique = {i.conversation.id for i in valid}  # the fixtures repeat ids (a file and its .gz copy)
    scored, bad = rows(out), rows(quarantine)
    assert len(valid) == 42 and len(scored) == len(unique) == 29
    assert len(bad) == len(items) - len(unique) == 23
    assert sum(q["reason"].startswith("duplicate id") for q in bad) == 13
    assert summary_line(stdout).startswith(f"{len(items)} records read: 29 scored, 23 quarantined")
    assert next(q for q in bad if q["file"].endswith("bad_json.jsonl") and q["id"] is None) == {
        "file": str(BAD / "bad_json.jsonl"),
        "line": 2,
        "id": None,
        "reason": "invalid JSON at column 58: unexpected end of data",
    }
    assert {tuple(sorted(r)) for r in bad} == {("file", "id", "line", "reason")}


def test_rows_follow_input_order_and_carry_no_text(capsys, tmp_path, tiny_model_dir):
    out = tmp_path / "scores.jsonl"
    assert score(capsys, *GOOD_FILES, "--model", tiny_model_dir, "--out", out, "--raw-ids")[0] == 0
    records, seen = [], set()
    for item in read_conversations(GOOD_FILES):  # the first record of each id (sample.jsonl.gz repeats them)
        if isinstance(item, Record) and item.conversation.id not in seen:
            records.append(item)
            seen.add(item.conversation.id)
    scored = rows(out)
    assert [r["id"] for r in scored] == [rec.conversation.id for rec in records]
    assert [r["source"] for r in scored] == [rec.location for rec in records]
    texts = {turn.text for rec in records for turn in rec.conversation.turns}
    raw = out.read_text(encoding="utf-8")
    assert not any(text in raw for text in texts if len(text) > 12)
    first = next(r for r in scored if r["id"] == "conv-en-001")  # lang, ts and meta present
    assert first["lang"] == "en" and first["ts"] == "2026-03-02T10:15:00Z"
    assert first["meta"] == {"channel": "whatsapp", "business": "online fashion shop"}
    for row in scored:
        assert row["label"] in ("business_support", "general_assistance")
        assert (row["label"] == "general_assistance") == (row["score"] >= row["threshold"])
        assert row["model"] == json.loads((tiny_model_dir / "scopeguard.json").read_text())["model_id"]
        assert row["evidence"] and all(set(e) == {"turn", "role", "score"} for e in row["evidence"])


@pytest.mark.parametrize(
    ("files", "fmt"),
    [
        (["sample.jsonl.gz"], "auto"),
        (["openai.jsonl"], "openai"),
        (["chats.csv"], "csv"),
        (["whatsapp_ios.txt", "whatsapp_android.txt"], "whatsapp-txt"),
        (["wa_cloud.jsonl"], "wa-cloud"),
    ],
)
def test_every_input_format_scores_like_the_classifier(capsys, tmp_path, tiny_model_dir, files, fmt):
    paths = [FIXTURES / f for f in files]
    out = tmp_path / "scores.jsonl"
    argv = ["--format", fmt, "--model", tiny_model_dir, "--out", out, "--raw-ids"]
    code, _, _ = score(capsys, *paths, *argv)
    assert code == 0
    records = [i for i in read_conversations(paths, fmt) if isinstance(i, Record)]
    clf = Classifier.load(tiny_model_dir)
    expected = [clf.classify([rec.conversation], batch_size=1)[0].to_dict() for rec in records]
    got = rows(out)
    assert len(got) == len(records) > 0
    for row, want in zip(got, expected, strict=True):
        assert {k: row[k] for k in want} == want


def test_workers_and_chunking_do_not_change_the_output(capsys, tmp_path, tiny_model_dir, archive_factory):
    archive = archive_factory(120)
    one = tmp_path / "one.jsonl"
    two = tmp_path / "two.jsonl"
    assert score(capsys, archive, "--model", tiny_model_dir, "--out", one, "--chunk-size", "7")[0] == 0
    code, stdout, _ = score(
        capsys, archive, "--model", tiny_model_dir, "--out", two, "--workers", "2", "--chunk-size", "50"
    )
    assert code == 0 and summary_line(stdout).startswith("120 records read: 120 scored, 0 quarantined")
    assert one.read_bytes() == two.read_bytes()


def test_csv_and_parquet_outputs_hold_the_jsonl_rows(capsys, tmp_path, tiny_model_dir):
    pq = pytest.importorskip("pyarrow.parquet")
    import csv

    paths = [FIXTURES / "sample.jsonl", FIXTURES / "chats.csv"]
    outs = {ext: tmp_path / f"scores.{ext}" for ext in ("jsonl", "csv", "parquet")}
    for out in outs.values():
        assert score(capsys, *paths, "--model", tiny_model_dir, "--out", out)[0] == 0
    expected = rows(outs["jsonl"])
    with outs["csv"].open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    parquet = pq.read_table(outs["parquet"]).to_pylist()
    assert not (tmp_path / "scores.parquet.partial.jsonl").exists()
    assert len(table) == len(parquet) == len(expected) == 10
    for want, flat, nested in zip(expected, table, parquet, strict=True):
        assert flat["id"] == nested["id"] == want["id"]
        assert float(flat["score"]) == nested["score"] == want["score"]
        assert json.loads(flat["evidence"]) == nested["evidence"] == want["evidence"]
        assert flat["source"] == nested["source"] == want["source"]
        meta = want.get("meta", {})
        assert flat["meta.channel"] == (meta.get("channel") or "")
        assert (nested["meta"] or {}).get("channel") == meta.get("channel")
        assert (flat["ts"] or None) == nested["ts"] == want.get("ts")


def test_strict_stops_at_the_first_bad_record(capsys, tmp_path, tiny_model_dir, archive_factory):
    archive = archive_factory(40, bad_every=10)  # records 10, 20, 30, 40 are bad
    out = tmp_path / "scores.jsonl"
    code, stdout, _ = score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--strict",
                            "--chunk-size", "4")  # fmt: skip
    assert code == 1
    assert summary_line(stdout).startswith("10 records read: 9 scored, 1 quarantined")
    assert [r["id"] for r in rows(out)] == [f"gen-{i:05d}" for i in range(9)]
    assert rows(out.with_name("scores.quarantine.jsonl"))[0]["line"] == 10
    code, stdout, _ = score(capsys, archive, "--model", tiny_model_dir, "--out", out)
    assert code == 0 and summary_line(stdout).startswith("40 records read: 36 scored, 4 quarantined")


def test_resume_cuts_back_a_half_written_chunk(capsys, tmp_path, tiny_model_dir, archive_factory):
    archive = archive_factory(60, bad_every=7)
    whole = tmp_path / "whole.jsonl"
    assert score(capsys, archive, "--model", tiny_model_dir, "--out", whole, "--chunk-size", "8")[0] == 0
    # A run that died after 3 chunks, while writing the 4th: rows beyond the checkpoint's offsets.
    out = tmp_path / "scores.jsonl"
    quarantine = tmp_path / "scores.quarantine.jsonl"
    assert score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--chunk-size", "8")[0] == 0
    ckpt_file = checkpoint_path(out)
    lines = out.read_bytes().splitlines(keepends=True)
    bad_lines = quarantine.read_bytes().splitlines(keepends=True)
    done_rows = [json.loads(x) for x in lines[:21]]  # 24 records = 3 chunks: 21 scored + 3 quarantined
    assert int(done_rows[-1]["source"].rsplit(":", 1)[1]) == 24
    out.write_bytes(b"".join(lines[:23]) + b'{"id": "half-writ')
    quarantine.write_bytes(b"".join(bad_lines[:4]))
    Checkpoint(
        arguments_hash=Checkpoint.load(ckpt_file).arguments_hash,
        model_id="m",
        records_done=24,
        scored=21,
        quarantined=3,
        output_offset=len(b"".join(lines[:21])),
        quarantine_offset=len(b"".join(bad_lines[:3])),
    ).save(ckpt_file)
    code, stdout, _ = score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--chunk-size", "8",
                            "--resume")  # fmt: skip
    assert code == 0
    assert "resumed after 24 records" in stdout
    assert summary_line(stdout).startswith("60 records read: 52 scored, 8 quarantined")
    assert out.read_bytes() == whole.read_bytes()
    assert quarantine.read_bytes() == whole.with_name("whole.quarantine.jsonl").read_bytes()
    # resuming a finished run does nothing
    code, stdout, _ = score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--chunk-size", "8",
                            "--resume")  # fmt: skip
    assert code == 0 and "already complete" in stdout and out.read_bytes() == whole.read_bytes()


def test_resume_is_refused_when_the_arguments_or_input_differ(
    capsys, tmp_path, tiny_model_dir, archive_factory
):
    archive = archive_factory(20)
    out = tmp_path / "scores.jsonl"
    assert score(capsys, archive, "--model", tiny_model_dir, "--out", out)[0] == 0
    code, _, err = score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--resume",
                         "--max-turns", "5")  # fmt: skip
    assert code == 2 and "refusing to resume: the reader differ" in err
    with archive.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "new", "turns": [{"role": "user", "text": "hi"}]}\n')
    code, _, err = score(capsys, archive, "--model", tiny_model_dir, "--out", out, "--resume")
    assert code == 2 and "refusing to resume: the inputs differ" in err


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _output_ids(out: Path) -> list[str]:
    if out.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [str(i) for i in pq.read_table(out).column("id").to_pylist()]
    if out.suffix == ".csv":
        import csv

        with out.open(encoding="utf-8", newline="") as handle:
            return [row["id"] for row in csv.DictReader(handle)]
    return [r["id"] for r in rows(out)]


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_resume_after_sigkill_has_no_duplicate_and_no_missing_row(
    tmp_path, tiny_model_dir, archive_factory, ext
):
    if ext == "parquet":
        pytest.importorskip("pyarrow")
    n = 3000
    archive = archive_factory(n, bad_every=97)
    out = tmp_path / f"scores.{ext}"
    argv = [sys.executable, "-m", "cli", "score", str(archive), "--model", str(tiny_model_dir),
            "--out", str(out), "--chunk-size", "8"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ckpt_file = checkpoint_path(out)

    def progressed() -> bool:
        try:
            return Checkpoint.load(ckpt_file).records_done >= 200
        except (FileNotFoundError, ValueError):
            return False

    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(progressed, timeout=300), "the run made no progress"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    killed_at = Checkpoint.load(ckpt_file)
    assert 0 < killed_at.records_done < n and not killed_at.complete, "killed too late to test resuming"

    result = subprocess.run(
        [*argv, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert f"resumed after {killed_at.records_done} records" in result.stdout
    expected_bad = n // 97
    assert f"{n} records read: {n - expected_bad} scored, {expected_bad} quarantined" in result.stdout
    ids = _output_ids(out)
    bad_ids = [r["id"] for r in rows(tmp_path / "scores.quarantine.jsonl")]
    assert len(ids) == len(set(ids)) == n - expected_bad
    assert sorted(ids + bad_ids) == [f"gen-{i:05d}" for i in range(n)]
    assert ids == sorted(ids)  # input order


def test_default_model_comes_from_the_environment(capsys, tmp_path, tiny_model_dir, monkeypatch):
    out = tmp_path / "scores.jsonl"
    monkeypatch.setenv(MODEL_ENV_VAR, str(tiny_model_dir))
    assert score(capsys, FIXTURES / "chats.csv", "--out", out)[0] == 0 and len(rows(out)) == 4
    monkeypatch.setenv(MODEL_ENV_VAR, str(tmp_path / "nowhere"))
    code, stdout, err = score(capsys, FIXTURES / "chats.csv", "--out", out)
    assert code == 2 and stdout == ""
    assert f"${MODEL_ENV_VAR}" in err and "is not a model folder" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "scores.txt"], "cannot tell the output format"),
        (["--out", "s.jsonl", "--quarantine", "s.jsonl"], "must differ from --out"),
    ],
)
def test_usage_errors_exit_2(capsys, tmp_path, tiny_model_dir, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = score(capsys, FIXTURES / "chats.csv", "--model", tiny_model_dir, *extra)
    assert code == 2 and message in err


def test_plain_progress_lines_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    with Progress(200, stream, interval=0.0) as progress:
        progress.update(50, 40, 1)
        progress.update(100, 80, 2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("scoring: 80 records (2 quarantined), ") and "line 100/200 (50%)" in lines[1]
    assert "ETA" in lines[1]


def test_line_count_of_plain_and_gzip_files():
    assert count_lines(FIXTURES / "sample.jsonl") == count_lines(FIXTURES / "sample.jsonl.gz") == 6


def _make_archive_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_archive", REPO / "examples" / "make_archive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_sample_archive_is_reproducible(tmp_path):
    built = tmp_path / "archive"
    counts = _make_archive_module().build_archive(built, seed=0)
    assert (
        set(counts) == {"jsonl", "openai", "csv", "whatsapp-txt", "wa-cloud"} and sum(counts.values()) >= 200
    )
    shipped = REPO / "examples" / "archive"
    if shipped.is_dir():  # the bundled archive is what the script writes
        files = sorted(p.relative_to(built) for p in built.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
        for path in files:
            assert (built / path).read_bytes() == (shipped / path).read_bytes(), path.name


@pytest.mark.parametrize("broken", [False, True])
def test_the_sample_archive_is_fully_accounted(capsys, tmp_path, tiny_model_dir, broken):
    module = _make_archive_module()
    built = tmp_path / "archive"
    total = sum(module.build_archive(built, seed=0, broken=broken).values())
    bad = module.BROKEN_RECORDS if broken else 0
    assert main(["validate", str(built)]) == (1 if broken else 0)
    capsys.readouterr()
    out = tmp_path / "scores.jsonl"
    code, stdout, _ = score(capsys, built, "--model", tiny_model_dir, "--out", out)
    assert code == 0
    assert summary_line(stdout).startswith(f"{total + bad} records read: {total} scored, {bad} quarantined")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_rich_progress_bar(capsys, tmp_path, tiny_model_dir, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "scores.jsonl"
    argv = ["score", str(FIXTURES / "sample.jsonl"), "--model", str(tiny_model_dir), "--out", str(out)]
    assert main(argv) == 0
    shown = terminal.getvalue()
    assert "scoring" in shown and "records" in shown and "ETA" in shown
    assert "━" in shown  # rich's bar


def test_the_summary_names_the_arithmetic_and_one_the_model_lacks_is_a_usage_error(
    capsys, tmp_path, tiny_model_dir
):
    sample = FIXTURES / "sample.jsonl"
    code, out, _ = score(capsys, sample, "--model", tiny_model_dir, "--out", tmp_path / "a.jsonl")
    assert code == 0 and "(int8 products)" in out  # the tiny model is dynamic int8
    refused = tmp_path / "b.jsonl"
    code, _, err = score(capsys, sample, "--model", tiny_model_dir, "--out", refused, "--compute", "fp32")
    assert code == 2 and "this model computes in int8 only" in err
    assert not refused.exists()
    code, _, err = score(capsys, sample, "--engine", "spark", "--out", tmp_path / "c", "--compute", "int8")
    assert code == 2 and "--compute is not available with --engine spark" in err
