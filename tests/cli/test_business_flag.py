"""``--business FILE`` on score and eval: the same decisions as a system turn with the same profile."""

from __future__ import annotations

import json
from pathlib import Path

from cli.main import main

PROFILE = "Rialto Picturehouse. Independent cinema in Bristol; the chat answers questions about our films."
EXCHANGE = [
    {"role": "user", "text": "whats The Salt Road about?"},
    {"role": "assistant", "text": "The Salt Road follows Nell, a retired lorry driver, across the Alps."},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def same_exchange_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The exchange without a profile, the same with PROFILE as its system turn, and PROFILE as a file."""
    record = {"id": "c1", "turns": EXCHANGE, "label": "business_support"}
    plain = write_jsonl(tmp_path / "plain.jsonl", [record])
    own = write_jsonl(
        tmp_path / "own.jsonl", [{**record, "turns": [{"role": "system", "text": PROFILE}, *EXCHANGE]}]
    )
    profile = tmp_path / "cinema.txt"
    profile.write_text(PROFILE, encoding="utf-8")
    return plain, own, profile


def test_score_with_business_equals_a_system_turn_and_names_the_profile(tmp_path, tiny_model_dir, capsys):
    plain, own, profile = same_exchange_files(tmp_path)
    model = ["--model", str(tiny_model_dir)]
    assert (
        main(["score", str(plain), *model, "--business", str(profile), "--out", str(tmp_path / "a.jsonl")])
        == 0
    )
    assert "business profile for records without their own: digest " in capsys.readouterr().out
    assert main(["score", str(own), *model, "--out", str(tmp_path / "b.jsonl")]) == 0
    assert main(["score", str(plain), *model, "--out", str(tmp_path / "c.jsonl")]) == 0
    (given,), (system,), (none,) = (
        rows(tmp_path / "a.jsonl"),
        rows(tmp_path / "b.jsonl"),
        rows(tmp_path / "c.jsonl"),
    )
    assert given["score"] == system["score"] != none["score"]
    assert given["profile"]["source"] == "default" and system["profile"]["source"] == "system"
    assert given["profile"]["digest"] == system["profile"]["digest"]
    assert none["profile"] is None
    assert PROFILE not in (tmp_path / "a.jsonl").read_text(encoding="utf-8")


def test_eval_with_business_equals_a_system_turn(tmp_path, tiny_model_dir, capsys):
    plain, own, profile = same_exchange_files(tmp_path)
    model = ["--model", str(tiny_model_dir)]
    assert main(["eval", str(plain), *model, "--business", str(profile), "--json"]) == 0
    with_business = json.loads(capsys.readouterr().out)
    assert main(["eval", str(own), *model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"] == with_business["overall"]
    assert main(["eval", str(plain), *model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["roc_auc"] is None  # one label: no AUC


def test_a_bad_business_file_is_a_usage_error_on_one_line(tmp_path, tiny_model_dir, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": "c1", "turns": EXCHANGE}])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = main(
        ["score", str(data), "--model", str(tiny_model_dir), "--business", str(empty), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and str(empty) in err and "is empty" in err
    assert not out.exists()


def test_an_unusable_meta_business_is_quarantined_and_counted(tmp_path, tiny_model_dir, capsys):
    data = write_jsonl(
        tmp_path / "d.jsonl",
        [{"id": "ok", "turns": EXCHANGE, "meta": {"business": PROFILE}},
         {"id": "bad", "turns": EXCHANGE, "meta": {"business": {"name": "Rialto"}}}],
    )  # fmt: skip
    out = tmp_path / "out.jsonl"
    assert main(["score", str(data), "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    assert "2 records read: 1 scored, 1 quarantined" in capsys.readouterr().out
    (quarantined,) = rows(tmp_path / "out.quarantine.jsonl")
    assert quarantined["id"] == "bad" and "meta.business.description is missing" in quarantined["reason"]
    assert rows(out)[0]["profile"]["source"] == "record"
