"""The ``scopeguard`` command line: one subcommand per module in ``cli/commands/``.

Each command module exposes ``add_parser(subparsers)`` (which sets ``func=run``) and ``run(args) -> int``.
Command modules import heavy libraries inside ``run`` so ``scopeguard --help`` stays fast.

Exit codes: what ``run`` returns (0 success, 1 "the input has problems"); 2 for usage errors, which
include library errors about the request (a missing file, an unknown format, ...): those are printed
as one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from classifier.schema import RecordError

PROG = "scopeguard"
COMMANDS: tuple[str, ...] = (
    "validate", "eval", "train", "score", "report", "serve", "keys", "data", "review", "repack",
)  # fmt: skip
USAGE_ERROR = 2


def _version() -> str:
    try:
        return version("scopeguard")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Decide, flow by flow, whether a chatbot acted as a general-purpose AI assistant "
        "or gave bounded business support.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cli.commands.{name}").add_parser(subparsers)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or 'no such file or directory'}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (RecordError, FileNotFoundError, ValueError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
