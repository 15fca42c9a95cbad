"""`scopeguard data ...` as the content writers and the Makefile run it."""

from __future__ import annotations

import subprocess
import sys

from datagen_samples import CATEGORY, COMMON, DOMAIN


def run_check(repo_root, args):
    """`scopeguard data check` as the content writers run it."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "data", "check", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout


def _write(tmp_path, write_lang, domain=DOMAIN, category=CATEGORY, common=COMMON):
    write_lang(tmp_path, common=common, domain=domain, category=category)
    return ["--root", str(tmp_path), "--lang", "en"]


def test_cli_fails_on_a_contradicting_family_and_names_it(tmp_path, write_lang, repo_root):
    domain = DOMAIN.replace(
        '["roaming to {city}?"]', '["roaming from 3 may?", "roaming for june 5?"]'
    ).replace('["Send ROAM to 4141, {amount}/day."]', '["Roaming is active from 3 May, {amount}/day."]')
    code, out = run_check(repo_root, _write(tmp_path, write_lang, domain=domain))
    assert code == 1
    assert "ERROR   en/business/telecom/roaming: [month]" in out


def test_cli_fails_on_a_business_hook_in_a_general_family(tmp_path, write_lang, repo_root):
    category = CATEGORY.replace(
        '["reverse a string in python"]', '["ur a bank so reverse a string in python"]'
    )
    code, out = run_check(repo_root, _write(tmp_path, write_lang, category=category))
    assert code == 1
    assert "ERROR   en/general/coding/reverse_string: [business-hook]" in out


def test_cli_counts_warnings_and_lists_them_on_request(tmp_path, write_lang, repo_root):
    common = COMMON.replace('  - user: ["hot today"]', '  - user: ["hot today", "cute"]')
    args = _write(tmp_path, write_lang, common=common)
    code, out = run_check(repo_root, args)
    assert code == 0, out
    assert "coherence warnings (review, --coherence lists them): smalltalk-context 1" in out
    assert "check   en/common/smalltalk/0" not in out
    code, out = run_check(repo_root, [*args, "--coherence"])
    assert code == 0
    assert "check   en/common/smalltalk/0: [smalltalk-context] user[1] 'cute'" in out


def test_manifest_check_and_report_on_the_committed_data(repo_root, capsys):
    from cli.main import main

    assert main(["data", "manifest", "--check", "--root", str(repo_root)]) == 0
    assert "manifest matches the data files" in capsys.readouterr().out
    assert main(["data", "report", "--root", str(repo_root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Conversations per split, label and language")
    assert "cross-split exact duplicates: 0" in out


def test_generate_keeps_every_flag(tmp_path, repo_root, capsys):
    from cli.main import main

    config = repo_root / "data" / "generate.yaml"
    args = [
        "data",
        "generate",
        "--config",
        str(config),
        "--fragments-root",
        str(repo_root / "data" / "fragments"),
    ]
    args += ["--languages", "en"]
    assert main([*args, "--output-dir", str(tmp_path / "out"), "--scale", "0.002"]) == 0
    out = capsys.readouterr().out
    assert "data/manifest.json left unchanged" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "heldout.jsonl.gz",
        "test.jsonl.gz",
        "train.jsonl.gz",
        "validation.jsonl.gz",
    ]


def test_check_refuses_an_unknown_language(capsys):
    from cli.main import main

    assert main(["data", "check", "--lang", "xx"]) == 2
    assert "no language folder with tables" in capsys.readouterr().err
