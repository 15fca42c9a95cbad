"""``scopeguard report SCORES... --out report.html``: the share of general assistance, with its uncertainty.

Writes one self-contained HTML file (inline CSS and SVG charts; nothing is fetched to view it) and, next
to it, the main table as CSV and PNG. Needs the ``report`` extra (matplotlib). See docs/SCORING.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from classifier.readers import FORMATS
from cli.commands.reader_args import _positive_float


def _share(text: str) -> float:
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {value}")
    return value


def _unit_share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {value}")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="HTML report of score files: general-assistance share with 95%% CI and the verdict",
        description="Summarise score files written by `scopeguard score` in one self-contained HTML file: "
        "the pooled share of general_assistance flows with a 95% Wilson interval and the verdict against "
        "--limit, a verdict per business and channel, the accounting of what was read, scored and "
        "quarantined (from the score runs' .summary.json), the share over time, by language, channel, "
        "business/domain and category, the score histogram, the top flagged and borderline conversations "
        "and, with --labels, precision/recall against human labels. Each id is counted once (its last row). "
        "The main table is also written as CSV and PNG next to the HTML. Exit code 0, 1 when the score "
        "files hold no conversation, 2 for usage errors. See docs/SCORING.md.",
    )
    parser.add_argument(
        "scores", nargs="+", type=Path, metavar="SCORES", help="score files (.jsonl, .csv, .parquet)"
    )
    parser.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    parser.add_argument("--labels", nargs="+", metavar="LABELLED", default=[],
                        help="transcripts with human labels (any input format), matched by id")  # fmt: skip
    parser.add_argument("--limit", type=_share, default=0.5,
                        help="share above which general assistance is the primary function "
                        "(default 0.5)")  # fmt: skip
    parser.add_argument("--max-unscored", type=_unit_share, default=0.05, metavar="SHARE",
                        help="share of quarantined records above which a verdict below the limit is not "
                        "called clean (default 0.05)")  # fmt: skip
    parser.add_argument("--show-text", action="store_true",
                        help="show the evidence turns' text of the top flagged conversations "
                        "(needs --transcripts)")  # fmt: skip
    parser.add_argument("--transcripts", nargs="+", metavar="INPUT", default=[],
                        help="the scored transcripts, read for --show-text")  # fmt: skip
    parser.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="format of the --labels and --transcripts files (default: auto)",
    )
    parser.add_argument("--business-sender", metavar="NAME", help="whatsapp-txt: the business's sender name")
    parser.add_argument("--raw-ids", action="store_true",
                        help="the score files were written with --raw-ids (match --labels/--transcripts by "
                        "raw id)")  # fmt: skip
    parser.add_argument("--id-key", type=Path, metavar="FILE",
                        help="key file of the id pseudonyms (default as for scopeguard score)")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from classifier.report import ReportOptions, build_report

    options = ReportOptions(
        scores=tuple(args.scores),
        out=args.out,
        labels=tuple(args.labels),
        limit=args.limit,
        max_unscored=args.max_unscored,
        show_text=args.show_text,
        transcripts=tuple(args.transcripts),
        reader={"format": args.format, "business_sender": args.business_sender},
        raw_ids=args.raw_ids,
        id_key=args.id_key,
    )
    result = build_report(options)
    print(f"pooled: {result.verdict.headline} {result.verdict.explanation}")
    for group in result.groups:
        p = group.share
        interval = f"95% CI {p.low:.1%} to {p.high:.1%}, {p.k} of {p.n}"
        print(f"  {group.dimension.lower()} {group.group}: {p.share:.1%} ({interval}) {group.outcome}")
    print(f"report: {result.html}  table: {result.table_csv}, {result.table_png}")
    if result.share.n == 0:
        print(
            "scopeguard report: the score files hold no conversations; check that `scopeguard score` "
            "scored something (see its .summary.json and quarantine file)",
            file=sys.stderr,
        )
        return 1
    return 0
