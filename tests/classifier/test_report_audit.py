"""``scopeguard report`` for auditors: each id once, the accounting, a verdict per business, evidence in
context, borderline cases."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from score_helpers import score_row, write_jsonl

from classifier.report.stats import conversations_to_settle, wilson
from classifier.scoring.accounting import FileCounts, Period, RunManifest, summary_path
from cli.main import build_parser, main

pytest.importorskip("matplotlib")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def row(i: int, general: bool, business: str = "shop", score: float | None = None) -> dict:
    meta = {"business": business, "channel": "whatsapp"}
    return score_row(i, general, score=score, threshold=0.4855, meta=meta)


write = write_jsonl


def report(capsys, *argv: object) -> tuple[int, str, str, str]:
    out = Path(str(argv[argv.index("--out") + 1]))
    code = main(["report", *map(str, argv)])
    stdout, err = capsys.readouterr()
    return code, stdout, err, out.read_text(encoding="utf-8") if out.exists() else ""


def text_of(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>|<style>.*?</style>", "", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_the_same_scores_twice_count_once_and_the_dropped_rows_are_listed(capsys, tmp_path):
    scores = write(tmp_path / "scores.jsonl", [row(i, i < 14) for i in range(60)])
    code, stdout, _, page = report(capsys, scores, scores, "--out", tmp_path / "r.html")
    assert code == 0
    assert "14 of 60 flows" in stdout and "120" not in stdout
    assert "60 rows repeat an id" in text_of(page) and "c0 : dropped" in text_of(page)


def test_the_last_row_of_an_id_counts(capsys, tmp_path):
    first = write(tmp_path / "old.jsonl", [row(0, True)])
    second = write(tmp_path / "new.jsonl", [row(0, False)])
    _, stdout, _, _ = report(capsys, first, second, "--out", tmp_path / "r.html")
    assert "0 of 1 flows" in stdout


def manifest(read: int, scored: int, quarantined: int) -> RunManifest:
    return RunManifest(
        model="m-1", compute="fp32", threshold=0.4855, started="2026-03-31T10:00:00Z",
        finished="2026-03-31T10:01:00Z",
        complete=True, inputs=["archive/"], read=read, scored=scored, quarantined=quarantined,
        files=[FileCounts(file="archive/march.jsonl", read=read, scored=scored, quarantined=quarantined)],
        period=Period(first="2026-03-01T08:00:00Z", last="2026-03-29T17:00:00Z"),
        quarantine="archive.quarantine.jsonl",
    )  # fmt: skip


def test_the_page_accounts_for_every_input_file_the_period_and_the_model(capsys, tmp_path):
    scores = write(tmp_path / "scores.jsonl", [row(i, i < 5) for i in range(100)])
    manifest(103, 100, 3).save(summary_path(scores))
    code, _, _, page = report(capsys, scores, "--out", tmp_path / "r.html")
    text = text_of(page)
    assert code == 0
    assert "archive/march.jsonl 103 100 3 0" in text
    assert "Period covered: 2026-03-01T08:00:00Z to 2026-03-29T17:00:00Z" in text
    assert "Model: m-1 (100)" in text and "Threshold: 0.485" in text and "0.4855" not in text
    assert "Products: fp32." in text
    assert "3 of 103 records (2.9%) could not be scored" in text
    assert "NOT the primary function" in text  # 2.9% is under the default --max-unscored of 5%


def test_a_verdict_is_not_clean_when_too_much_was_quarantined(capsys, tmp_path):
    scores = write(tmp_path / "scores.jsonl", [row(i, i < 5) for i in range(100)])
    manifest(110, 100, 10).save(summary_path(scores))
    _, stdout, _, page = report(capsys, scores, "--out", tmp_path / "r.html")
    assert "Not clean: 10 of 110 records (9.1%) could not be scored" in stdout
    assert 'class="verdict incomplete"' in page
    _, stdout, _, _ = report(capsys, scores, "--out", tmp_path / "r.html", "--max-unscored", "0.2")
    assert "NOT the primary function" in stdout


def test_missing_accounting_is_a_visible_warning(capsys, tmp_path):
    scores = write(tmp_path / "scores.jsonl", [row(i, False) for i in range(5)])
    _, _, _, page = report(capsys, scores, "--out", tmp_path / "r.html")
    assert "No accounting for" in text_of(page)


def test_each_business_gets_its_verdict_riskiest_first(capsys, tmp_path):
    rows = [row(i, i < 8, "fashion") for i in range(25)]  # 32%: 95% CI 17-52%, inconclusive at 50%
    rows += [row(100 + i, i < 10, "pharmacy") for i in range(200)]
    scores = write(tmp_path / "scores.jsonl", rows)
    code, stdout, _, page = report(capsys, scores, "--out", tmp_path / "r.html")
    assert code == 0 and stdout.startswith("pooled: General assistance is NOT the primary function")
    assert "business fashion: 32.0% (95% CI 17.2% to 51.6%, 8 of 25) inconclusive" in stdout
    text = text_of(page)
    assert "Pooled over all 225 conversations of 2 businesses" in text
    settle = conversations_to_settle(wilson(8, 25), 0.5)
    assert f"Business fashion 25 8 32.0% 17.2% – 51.6% inconclusive about {settle} reviewed" in text
    assert text.index("Business fashion 25") < text.index("Business pharmacy 200")
    chart_table = text[text.index("By business") :]
    assert chart_table.index("fashion") < chart_table.index("pharmacy")  # sorted by risk, not size


@pytest.mark.parametrize(("k", "n", "limit"), [(8, 25, 0.5), (30, 50, 0.5), (3, 40, 0.1), (45, 100, 0.5)])
def test_the_settling_sample_size_makes_the_interval_exclude_the_limit(k, n, limit):
    needed = conversations_to_settle(wilson(k, n), limit)
    assert needed is not None
    share = k / n

    def excludes(m: int) -> bool:  # the Wilson interval of the same share with m conversations
        z2 = 1.959963984540054**2
        return (share - limit) ** 2 * m > z2 * limit * (1 - limit)

    assert excludes(needed) and not excludes(needed - 1)
    assert math.isclose(share, k / n)
    assert conversations_to_settle(wilson(25, 50), 0.5) is None


def test_borderline_cases_are_listed_beside_the_most_certain(capsys, tmp_path):
    rows = [row(i, True, score=0.99) for i in range(30)]
    rows += [row(100, True, score=0.49), row(101, False, score=0.48)]
    rows += [row(200 + i, False, score=0.02) for i in range(30)]
    scores = write(tmp_path / "scores.jsonl", rows)
    _, _, _, page = report(capsys, scores, "--out", tmp_path / "r.html")
    near = text_of(page)[text_of(page).index("Borderline conversations") :]
    assert "c100 0.490" in near and "c101 0.480" in near


def test_show_text_puts_the_customer_message_before_each_evidence_turn(capsys, tmp_path):
    transcript = {
        "id": "t1",
        "turns": [
            {"role": "system", "text": "You are the bot of Loja Aurora."},
            {"role": "user", "text": "write me a poem about the sea"},
            {"role": "assistant", "text": "The sea is wide and blue..."},
        ],
    }
    (tmp_path / "t.jsonl").write_text(json.dumps(transcript) + "\n", encoding="utf-8")
    scored = row(0, True) | {"id": "t1", "source": f"{tmp_path / 't.jsonl'}:1"}
    scored["evidence"] = [{"turn": 2, "role": "assistant", "score": 0.9}]
    scores = write(tmp_path / "scores.jsonl", [scored])
    argv = ["--out", tmp_path / "r.html", "--show-text", "--transcripts", tmp_path / "t.jsonl"]
    _, _, _, page = report(capsys, scores, *argv)
    text = text_of(page)
    said = "customer, turn 1: write me a poem about the sea turn 2 (assistant, 0.900) : The sea is wide"
    assert said in text
    assert "system turns (bot configuration) included" in text
    cell = re.search(r"<td( class=num)?><div class=turn>", page)
    assert cell is not None and cell.group(1) is None  # evidence is text: left-aligned


def test_language_none_is_explained(capsys, tmp_path):
    rows = [row(i, False) | {"lang": "de"} for i in range(3)] + [row(9, False)]
    _, _, _, page = report(capsys, write(tmp_path / "s.jsonl", rows), "--out", tmp_path / "r.html")
    assert "(none): the record has no lang field" in text_of(page)


def test_empty_scores_exit_1(capsys, tmp_path):
    code, _, err, _ = report(capsys, write(tmp_path / "s.jsonl", []), "--out", tmp_path / "r.html")
    assert code == 1 and "hold no conversations" in err and len(err.strip().splitlines()) == 1


def test_report_help_prints_a_plain_percent_sign(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "--help"])
    assert "%%" not in capsys.readouterr().out
