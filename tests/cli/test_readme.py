"""The README's commands are real: every example parses with the CLI's own parser, every flag of a
synopsis line exists on its command, and every `make` target it names exists."""

from __future__ import annotations

import argparse
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


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subs[0].choices) if subs else {}


def command_options(words: list[str]) -> tuple[str, set[str]]:
    """The (nested) command a line names (``review pick``) and the options its parser knows."""
    parser, names = build_parser(), []
    for word in words:
        choices = _choices(parser)
        if word not in choices:
            break
        parser, names = choices[word], [*names, word]
    return " ".join(names), {opt for action in parser._actions for opt in action.option_strings}


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
    command, options = command_options(words[1:])
    assert command, f"{words[1]} is not a command"
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line))
    assert flags <= options, f"{command}: {sorted(flags - options)} not in its parser"


def test_every_make_target_exists():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = {line.split()[1] for line in LINES if line.startswith("make ")}
    assert named and named <= targets, sorted(named - targets)
