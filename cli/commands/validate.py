"""``scopeguard validate PATH...``: read transcripts, report every invalid record and what is there.

Prints every error as it is found (``file line N (id X): problem``), then counts of conversations per
label and language and of turns per role (a table on a terminal, plain text otherwise), the records
skipped by a documented rule, and a final line ``N records: N valid, N invalid``. ``--json`` prints one
JSON object instead. A conversation id seen before (in the same input or another, e.g. a file and its
``.gz`` copy) is an invalid record naming both locations; the ids seen are kept in memory (about 100
bytes each). An input without any record is an error. Exit code 0 when every record is valid, 1 otherwise
(also for empty input), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from cli.commands.reader_args import add_reader_arguments, reader_kwargs

NO_VALUE = "(none)"


@dataclass
class Summary:
    labels: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    roles: Counter[str] = field(default_factory=Counter)
    valid: int = 0
    errors: list[Any] = field(default_factory=list)  # RecordError, kept only for --json

    @property
    def invalid(self) -> int:
        return len(self.errors)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check transcripts against the schema and count labels, roles and languages",
        description="Read transcripts, print every invalid record (file line N (id X): problem), counts per "
        "label, language and role, and 'N records: N valid, N invalid'. A duplicate id (within or across "
        "inputs) is invalid. Exit code 0 when every record is valid, 1 otherwise or when there is no record, "
        "2 for usage errors. Formats: docs/FORMATS.md.",
    )
    add_reader_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def _tables(summary: Summary) -> list[tuple[str, str, Counter[str]]]:
    return [
        ("label", "conversations", summary.labels),
        ("lang", "conversations", summary.langs),
        ("role", "turns", summary.roles),
    ]


def _print_plain(summary: Summary, out: TextIO) -> None:
    for title, unit, counts in _tables(summary):
        if not counts:
            continue
        width = max(len(title), *(len(k) for k in counts))
        print(f"{title:<{width}}  {unit}", file=out)
        for key, n in sorted(counts.items()):
            print(f"{key:<{width}}  {n}", file=out)
        print(file=out)


def _print_rich(summary: Summary, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    for title, unit, counts in _tables(summary):
        if not counts:
            continue
        table = Table(title_justify="left")
        table.add_column(title)
        table.add_column(unit, justify="right")
        for key, n in sorted(counts.items()):
            table.add_row(key, str(n))
        console.print(table)


def run(args: argparse.Namespace) -> int:
    import orjson

    from classifier.readers import ReadStats, read_conversations
    from classifier.schema import RecordError

    out = sys.stdout
    stats = ReadStats()
    summary = Summary()
    first_seen: dict[str, str] = {}  # id -> where it first occurred
    for item in read_conversations(args.paths, stats=stats, **reader_kwargs(args)):
        if not isinstance(item, RecordError):
            item = _duplicate(item, first_seen) or item
        if isinstance(item, RecordError):
            summary.errors.append(item)
            if not args.json:
                print(item.describe(), file=out, flush=True)
            continue
        conv = item.conversation
        summary.valid += 1
        summary.labels[conv.label or NO_VALUE] += 1
        summary.langs[conv.lang or NO_VALUE] += 1
        summary.roles.update(turn.role for turn in conv.turns)
    total = summary.valid + summary.invalid
    if args.json:
        report = {
            "records": total,
            "valid": summary.valid,
            "invalid": summary.invalid,
            "labels": dict(summary.labels),
            "langs": dict(summary.langs),
            "roles": dict(summary.roles),
            "skipped": stats.skipped,
            "files": {
                name: {"read": f.read, "ok": f.ok, "failed": f.failed, "skipped": f.skipped}
                for name, f in stats.files.items()
            },
            "errors": [err.to_dict() for err in summary.errors],
        }
        out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        if summary.errors:
            print(file=out)
        (_print_rich if out.isatty() else _print_plain)(summary, out)
        for reason, n in sorted(stats.skipped.items()):
            print(f"skipped by rule: {n} {reason}", file=out)
        print(f"{total} records: {summary.valid} valid, {summary.invalid} invalid", file=out)
    if total == 0:
        print(
            f"scopeguard validate: no records in {', '.join(args.paths)}: the files are empty or there are "
            "no .jsonl, .json, .csv or .txt files (optionally .gz)",
            file=sys.stderr,
        )
        return 1
    return 0 if summary.invalid == 0 else 1


def _duplicate(record: Any, first_seen: dict[str, str]) -> Any:
    """A RecordError naming both locations when ``record``'s id was seen before, else None."""
    from classifier.schema import RecordError

    conv_id = record.conversation.id
    first = first_seen.get(conv_id)
    if first is None:
        first_seen[conv_id] = record.location
        return None
    again = " (the same input given twice?)" if first == record.location else ""
    problem = f"duplicate id: first at {first}{again}; each conversation must occur once"
    return RecordError(record.source, record.line, conv_id, problem)
