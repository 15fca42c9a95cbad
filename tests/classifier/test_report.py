"""``scopeguard report``: the page, the verdict and its interval, timestamps or not, labels, text."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from score_helpers import score_row, write_jsonl

from classifier.report.stats import verdict, wilson
from cli.main import main

pytest.importorskip("matplotlib")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


write_scores = write_jsonl


def score_rows(n: int, general: int, *, timestamps: bool = True) -> list[dict]:
    rows = []
    for i in range(n):
        extra = {"lang": "en" if i % 2 else "de", "meta": {"channel": "whatsapp", "category": f"cat{i % 3}"}}
        if timestamps:
            extra["ts"] = f"2026-03-{1 + i % 10:02d}T10:00:00Z"
        rows.append(score_row(i, i < general, **extra))
    return rows


def report(capsys, *argv: object) -> tuple[int, str, str]:
    code = main(["report", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_wilson_interval_matches_the_textbook_values():
    p = wilson(81, 263)  # Wilson (1927) / Newcombe (1998) example: 0.2553 to 0.3662
    assert math.isclose(p.low, 0.2553, abs_tol=5e-4) and math.isclose(p.high, 0.3662, abs_tol=5e-4)
    zero = wilson(0, 10)
    assert zero.low == 0.0 and math.isclose(zero.high, 0.2775, abs_tol=5e-4)
    with pytest.raises(ValueError):
        wilson(5, 3)


@pytest.mark.parametrize(
    ("k", "n", "outcome"),
    [(10, 200, "below"), (190, 200, "above"), (10, 20, "inconclusive"), (0, 0, "inconclusive")],
)
def test_verdict_follows_the_interval_not_the_point_estimate(k, n, outcome):
    assert verdict(wilson(k, n), 0.5).outcome == outcome


def test_report_with_timestamps(capsys, tmp_path):
    scores = write_scores(tmp_path / "scores.jsonl", score_rows(200, 30))
    out = tmp_path / "out" / "report.html"
    code, stdout, _ = report(capsys, scores, "--out", out)
    assert code == 0
    assert stdout.startswith("pooled: General assistance is NOT the primary function")
    page = out.read_text(encoding="utf-8")
    assert "15.0% (95% CI 10.7% to 20.6%, 30 of 200 flows)" in page
    assert "Share over time (by day)" in page and "No timestamps" not in page
    for title in (
        "By language",
        "By channel",
        "By category",
        "Score distribution",
        "Top flagged conversations",
    ):
        assert title in page
    assert "By business" not in page  # no business values in these rows
    assert page.count("<svg") == 5  # time, language, channel, category, histogram
    assert "<b>Threshold:</b> 0.620." in page and "<b>Model:</b> m-1 (200)" in page
    # self-contained: no external resources
    assert (
        not re.search(r"""(src|href)=["']?https?:""", page) and "<script" not in page and "<link" not in page
    )
    # ids, not text, in the flagged table without --show-text
    assert "<td>c0</td>" in page and "--show-text --transcripts" in page
    with out.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert table[0] == {"dimension": "all", "group": "all conversations", "conversations": "200",
                        "general_assistance": "30", "share": "0.1500", "ci_low": "0.1071",
                        "ci_high": "0.2061"}  # fmt: skip
    assert {row["dimension"] for row in table} == {"all", "Language", "Channel", "Category"}
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


def test_report_without_timestamps_says_so(capsys, tmp_path):
    scores = write_scores(tmp_path / "scores.jsonl", score_rows(40, 30, timestamps=False))
    out = tmp_path / "report.html"
    code, stdout, _ = report(capsys, scores, "--out", out, "--limit", "0.8")
    assert code == 0 and stdout.startswith("pooled: Inconclusive")
    page = out.read_text(encoding="utf-8")
    assert "No timestamps." in page and "Share over time (by" not in page
    assert "limit of 80%" in page.replace("\n", " ")


def test_report_reads_csv_and_parquet_scores_like_jsonl(capsys, tmp_path, tiny_model_dir):
    pytest.importorskip("pyarrow")
    pages = {}
    for ext in ("jsonl", "csv", "parquet"):
        scores = tmp_path / f"scores.{ext}"
        assert main(["score", str(FIXTURES / "sample.jsonl"), "--model", str(tiny_model_dir),
                     "--out", str(scores)]) == 0  # fmt: skip
        out = tmp_path / f"report-{ext}.html"
        assert report(capsys, scores, "--out", out)[0] == 0
        pages[ext] = out.with_suffix(".csv").read_text(encoding="utf-8")
    assert pages["jsonl"] == pages["csv"] == pages["parquet"]


def test_labels_and_show_text(capsys, tmp_path, tiny_model_dir):
    sample = FIXTURES / "sample.jsonl"
    scores = tmp_path / "scores.jsonl"
    assert main(["score", str(sample), "--model", str(tiny_model_dir), "--out", str(scores)]) == 0
    # Force known predictions so precision/recall are checkable: every flow predicted general.
    rows = [json.loads(line) for line in scores.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["label"], row["score"] = "general_assistance", 0.99
    write_scores(scores, rows)
    out = tmp_path / "report.html"
    code, _, _ = report(
        capsys, scores, "--out", out, "--labels", sample, "--show-text", "--transcripts", sample
    )
    assert code == 0
    page = out.read_text(encoding="utf-8")
    # sample.jsonl: 2 general_assistance, 3 business_support, 1 unlabelled -> precision 2/5, recall 2/2
    assert "5 scored conversations have a human label (1 scored conversations have none)" in page
    assert "<td>precision</td><td class=num>40.0%</td>" in page
    assert "<td>recall</td><td class=num>100.0%</td>" in page
    first = json.loads(sample.read_text(encoding="utf-8").splitlines()[0])
    evidence_turn = rows[0]["evidence"][0]["turn"]
    snippet = first["turns"][evidence_turn]["text"][:40]
    assert snippet.replace("'", "&#x27;") in page


def test_show_text_needs_transcripts(capsys, tmp_path):
    scores = write_scores(tmp_path / "scores.jsonl", score_rows(5, 1))
    code, _, err = report(capsys, scores, "--out", tmp_path / "r.html", "--show-text")
    assert code == 2 and "--show-text needs --transcripts" in err


def test_a_file_that_is_not_scores_is_a_usage_error(capsys, tmp_path):
    code, _, err = report(capsys, FIXTURES / "sample.jsonl", "--out", tmp_path / "r.html")
    assert code == 2 and "id, label or score is missing" in err


@pytest.mark.parametrize(("k", "n"), [(0, 7), (7, 7), (1, 1), (3, 9)])
def test_the_interval_always_contains_the_share(k, n):
    p = wilson(k, n)
    assert 0.0 <= p.low <= p.share <= p.high <= 1.0


def test_groups_where_every_flow_is_general_render(capsys, tmp_path):
    rows = score_rows(30, 30)  # every flow general: bars at 100% with one-sided intervals
    scores = write_scores(tmp_path / "scores.jsonl", rows)
    code, stdout, _ = report(capsys, scores, "--out", tmp_path / "r.html")
    assert code == 0 and stdout.startswith("pooled: General assistance IS the primary function")
