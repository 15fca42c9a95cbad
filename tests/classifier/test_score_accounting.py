"""``scopeguard score``: each conversation once, the accounting sidecar, failures that leave nothing behind,
and no phone number of the sample archive in any output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from score_helpers import jsonl_rows, run_cli

from classifier.scoring import engine
from classifier.scoring.accounting import RunManifest, summary_path
from classifier.scoring.checkpoint import checkpoint_path
from cli.main import main

REPO = Path(__file__).resolve().parents[2]
ARCHIVE = REPO / "examples" / "archive"
SAMPLE = REPO / "tests" / "fixtures" / "sample.jsonl"


def score(capsys, *argv: object) -> tuple[int, str, str]:
    return run_cli(capsys, "score", *argv)


rows = jsonl_rows


def archive_phone_numbers() -> set[str]:
    """Every wa_id/from/to/phone number in the sample archive's WhatsApp Cloud API log."""
    text = (ARCHIVE / "wa_cloud_webhooks.jsonl").read_text(encoding="utf-8")
    numbers = set(re.findall(r'"(?:wa_id|from|to|display_phone_number)":\s*"(\d{7,15})"', text))
    assert len(numbers) > 10
    return numbers


def test_a_duplicate_id_is_scored_once_and_quarantined_after(capsys, tmp_path, tiny_model_dir):
    out = tmp_path / "scores.jsonl"
    code, stdout, _ = score(capsys, SAMPLE, SAMPLE, "--model", tiny_model_dir, "--out", out)
    assert code == 0
    scored, quarantined = rows(out), rows(tmp_path / "scores.quarantine.jsonl")
    assert len(scored) == len({r["id"] for r in scored}) == 6
    assert len(quarantined) == 6 and all(q["reason"].startswith("duplicate id") for q in quarantined)
    assert "6 duplicate ids quarantined" in stdout


def test_the_summary_sidecar_accounts_for_every_file(capsys, tmp_path, tiny_model_dir):
    bad = REPO / "tests" / "fixtures" / "bad" / "bad_json.jsonl"
    out = tmp_path / "scores.jsonl"
    assert score(capsys, SAMPLE, bad, "--model", tiny_model_dir, "--out", out)[0] == 0
    manifest = RunManifest.load(summary_path(out))
    assert manifest.complete and manifest.model and manifest.threshold is not None
    assert manifest.compute == "int8"  # the tiny model is dynamic int8
    assert manifest.read == manifest.scored + manifest.quarantined
    by_file = {f.file: f for f in manifest.files}
    assert by_file[str(SAMPLE)].scored == 6 and by_file[str(bad)].quarantined >= 1
    assert manifest.period is not None and manifest.period.first <= manifest.period.last
    assert manifest.started <= (manifest.finished or "")


def test_an_empty_directory_is_one_clear_line_and_exit_2(capsys, tmp_path, tiny_model_dir):
    (tmp_path / "empty").mkdir()
    code, _, err = score(capsys, tmp_path / "empty", "--model", tiny_model_dir, "--out", tmp_path / "s.jsonl")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nothing to score" in err
    assert not (tmp_path / "s.jsonl").exists()


def test_an_empty_file_exits_1_and_leaves_no_empty_outputs(capsys, tmp_path, tiny_model_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "out" / "scores.jsonl"
    code, _, err = score(capsys, empty, "--model", tiny_model_dir, "--out", out)
    assert code == 1 and "no records were read" in err
    assert not list(out.parent.iterdir())


def test_everything_quarantined_exits_1_and_keeps_only_the_quarantine(capsys, tmp_path, tiny_model_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "turns": []}\n{"id": "b"}\nnot json\n', encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    code, _, err = score(capsys, bad, "--model", tiny_model_dir, "--out", out)
    assert code == 1 and "all 3 records were quarantined" in err
    assert not out.exists() and not checkpoint_path(out).exists()
    assert len(rows(tmp_path / "scores.quarantine.jsonl")) == 3


def test_a_failed_run_leaves_no_empty_outputs(capsys, tmp_path, tiny_model_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("the model cannot be loaded")

    monkeypatch.setattr(engine.Classifier, "load", broken)
    out = tmp_path / "out" / "scores.jsonl"
    code, _, err = score(capsys, SAMPLE, "--model", tiny_model_dir, "--out", out)
    assert code == 2 and "cannot be loaded" in err
    assert not list(out.parent.iterdir())


def test_ctrl_c_names_resume_and_a_rerun_without_it_is_refused(capsys, tmp_path, tiny_model_dir, monkeypatch):
    out = tmp_path / "scores.jsonl"
    real = engine._Scorer.submit
    calls = []

    def interrupt_second_chunk(self, convs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, convs)

    monkeypatch.setattr(engine._Scorer, "submit", interrupt_second_chunk)
    code, _, err = score(capsys, SAMPLE, "--model", tiny_model_dir, "--out", out, "--chunk-size", "2")
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(engine._Scorer, "submit", real)
    code, _, err = score(capsys, SAMPLE, "--model", tiny_model_dir, "--out", out, "--chunk-size", "2")
    assert code == 2 and "--resume" in err and "unfinished run" in err
    code, _, _ = score(capsys, SAMPLE, "--model", tiny_model_dir, "--out", out, "--chunk-size=2", "--resume")
    assert code == 0 and len(rows(out)) == 6


def test_no_phone_number_of_the_sample_archive_in_any_output(capsys, tmp_path, tiny_model_dir):
    pytest.importorskip("matplotlib", reason="the report needs matplotlib (the report extra)")
    out = tmp_path / "scores.jsonl"
    code, stdout, _ = score(capsys, ARCHIVE, "--model", tiny_model_dir, "--out", out)
    assert code == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report.html")]) == 0
    stdout += capsys.readouterr().out
    outputs = [p for p in tmp_path.iterdir() if p.suffix in (".jsonl", ".json", ".html", ".csv")]
    assert {p.name for p in outputs} >= {"scores.jsonl", "scores.summary.json", "report.html", "report.csv"}
    text = stdout + "".join(p.read_text(encoding="utf-8") for p in outputs)
    leaked = {n for n in archive_phone_numbers() if n in text}
    assert not leaked
    assert any(r["id"].startswith("p-") for r in rows(out))


def test_raw_ids_keep_the_numbers(capsys, tmp_path, tiny_model_dir):
    out = tmp_path / "scores.jsonl"
    wa = ARCHIVE / "wa_cloud_webhooks.jsonl"
    assert score(capsys, wa, "--model", tiny_model_dir, "--out", out, "--raw-ids")[0] == 0
    assert any(n in out.read_text(encoding="utf-8") for n in archive_phone_numbers())


@pytest.mark.parametrize("extra", [[], ["--workers", "2"]])
def test_progress_moves_within_a_chunk(capsys, tmp_path, tiny_model_dir, monkeypatch, extra):
    updates = []
    real = engine.Progress.update

    def spy(self, position, records, quarantined):
        updates.append(records)
        real(self, position, records, quarantined)

    monkeypatch.setattr(engine.Progress, "update", spy)
    monkeypatch.setattr(engine, "PROGRESS_SLICE", 4)
    out = tmp_path / "scores.jsonl"
    assert score(capsys, SAMPLE, SAMPLE, "--model", tiny_model_dir, "--out", out, *extra)[0] == 0
    if not extra:
        assert len(set(updates)) >= 3  # one chunk of 12 records, updated after every slice
