"""The README's commands are real: every example parses with the CLI's own parser, every flag of a
synopsis line exists on its command, and every `make` target it names exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
CODE = "\n".join(re.findall(r"```(?:bash)?\n(.*?)```", README, flags=re.S))
LINES = [line.split("  #")[0].strip() for line in CODE.splitlines()]


def joined_commands(lines: list[str]) -> list[str]:
    """``scopeguard ...`` lines with their indented ``[--flag ...]`` continuation lines appended."""
    out: list[str] = []
    for line in lines:
        if line.startswith("scopeguard "):
            out.append(line)
        elif line.startswith("[") and out:
            out[-1] += " " + line
    return out


COMMANDS = joined_commands(LINES)
SYNOPSES = [line for line in COMMANDS if "[" in line or "..." in line or "|" in line]
EXAMPLES = [line for line in COMMANDS if line not in SYNOPSES]


def subcommand_options(name: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices[name]  # type: ignore[union-attr]
    return {opt for action in sub._actions for opt in action.option_strings}


def test_the_readme_has_commands_to_check():
    assert len(EXAMPLES) >= 5 and len(SYNOPSES) >= 7


@pytest.mark.parametrize("line", EXAMPLES)
def test_every_example_parses(line, capsys):
    args = shlex.split(line)[1:]
    if "--help" in args:
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args(args)
        assert done.value.code == 0
        return
    build_parser().parse_args(args)  # argparse exits (SystemExit 2) on a wrong flag or argument


@pytest.mark.parametrize("line", SYNOPSES)
def test_every_synopsis_flag_exists(line):
    words = line.split()
    if words[1].startswith("-"):
        return  # scopeguard --help
    options = subcommand_options(words[1])
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line))
    assert flags <= options, f"{words[1]}: {sorted(flags - options)} not in its parser"


def test_every_make_target_exists():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = {line.split()[1] for line in LINES if line.startswith("make ")}
    assert named and named <= targets, sorted(named - targets)
