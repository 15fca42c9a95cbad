"""``scopeguard validate``: exit codes and output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import COMMANDS, main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BAD = FIXTURES / "bad"
GOOD_FILES = sorted(str(p) for p in FIXTURES.iterdir() if p.is_file())  # what `tests/fixtures/*` expands to


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_good_fixture_validates_without_flags(capsys):
    files = [f for f in GOOD_FILES if not f.endswith(".gz")]  # sample.jsonl.gz repeats sample.jsonl's ids
    code, out, err = run(capsys, "validate", *files)
    assert code == 0, out
    assert err == ""
    assert out.splitlines()[-1] == "19 records: 19 valid, 0 invalid"
    assert "skipped by rule: 2 wa-cloud status notification" in out


def test_counts_per_label_lang_and_role(capsys):
    code, out, _ = run(capsys, "validate", str(FIXTURES / "sample.jsonl"))
    assert code == 0
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "business_support 3" in lines and "general_assistance 2" in lines and "(none) 1" in lines
    assert "pt-BR 1" in lines
    assert "agent 1" in lines and "system 1" in lines
    assert lines[-1] == "6 records: 6 valid, 0 invalid"


def test_invalid_records_exit_1_and_list_every_error(capsys):
    code, out, _ = run(capsys, "validate", str(BAD))
    assert code == 1
    lines = out.splitlines()
    assert (
        f"{BAD / 'unknown_role.jsonl'} line 2 (id conv-2): turns[2].role 'bot' is not one of user, "
        "assistant, agent, system" in lines
    )
    assert sum(line.startswith(str(BAD)) for line in lines) == 17  # 10 broken records, 7 repeated ids
    assert lines[-1] == "27 records: 10 valid, 17 invalid"


def test_duplicate_ids_name_both_locations_and_exit_1(capsys):
    sample, copy = FIXTURES / "sample.jsonl", FIXTURES / "sample.jsonl.gz"
    code, out, _ = run(capsys, "validate", str(sample), str(copy))
    assert code == 1
    assert (
        f"{copy} line 1 (id conv-en-001): duplicate id: first at {sample}:1; "
        "each conversation must occur once"
    ) in out.splitlines()
    assert out.splitlines()[-1] == "12 records: 6 valid, 6 invalid"
    code, out, _ = run(capsys, "validate", str(sample), str(sample))
    assert code == 1 and "(the same input given twice?)" in out


def test_empty_input_exits_1(capsys, tmp_path):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    for path in (tmp_path, tmp_path / "empty.jsonl"):
        code, _, err = run(capsys, "validate", str(path))
        assert code == 1 and "no records" in err and len(err.strip().splitlines()) == 1


def test_json_output(capsys):
    code, out, _ = run(
        capsys, "validate", "--json", str(BAD / "bad_json.jsonl"), str(FIXTURES / "wa_cloud.jsonl")
    )
    report = json.loads(out)
    assert code == 1
    assert (report["records"], report["valid"], report["invalid"]) == (7, 5, 2)
    assert report["errors"][0] == {
        "source": str(BAD / "bad_json.jsonl"),
        "line": 2,
        "id": None,
        "error": "invalid JSON at column 58: unexpected end of data",
    }
    assert report["files"][str(FIXTURES / "wa_cloud.jsonl")]["skipped"]["wa-cloud status notification"] == 2
    assert report["roles"]["user"] == 2 + 6


def test_limit_options_apply(capsys):
    code, out, _ = run(capsys, "validate", "--max-turns", "3", str(FIXTURES / "sample.jsonl"))
    assert code == 1
    assert "(id conv-de-002): turns has 4 turns, over the limit of 3" in out
    assert out.splitlines()[-1] == "6 records: 4 valid, 2 invalid"


def test_business_sender_flag_and_format_flag(capsys, tmp_path):
    chat = tmp_path / "chat.log"
    chat.write_text("01/02/2026, 10:00 - Ana: hola\n01/02/2026, 10:01 - Tienda: hola Ana\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--format", "whatsapp-txt", str(chat))
    assert code == 1 and "--business-sender" in out
    code, out, _ = run(
        capsys, "validate", "--format", "whatsapp-txt", "--business-sender", "Tienda", str(chat)
    )
    assert code == 0 and out.splitlines()[-1] == "1 records: 1 valid, 0 invalid"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "missing.jsonl"], "missing.jsonl: no such file or directory"),
        (["validate", "pyproject.toml"], "pyproject.toml: unknown file type"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("scopeguard: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["validate", "--max-turns", "0", "x.jsonl"], ["validate"], ["nope"]])
def test_argparse_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_version_and_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("scopeguard ")
    assert "validate" in COMMANDS


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_output_is_a_table(monkeypatch):
    fake = _Terminal()
    monkeypatch.setattr(sys, "stdout", fake)
    assert main(["validate", str(FIXTURES / "chats.csv")]) == 0
    text = fake.getvalue()
    assert "┃" in text or "│" in text  # rich box drawing
    assert text.splitlines()[-1] == "4 records: 4 valid, 0 invalid"


def test_console_script_runs():
    script = Path(sys.executable).with_name("scopeguard")
    result = subprocess.run(
        [str(script), "validate", str(FIXTURES / "chats.csv")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "4 records: 4 valid, 0 invalid"
