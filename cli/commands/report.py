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


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="HTML report of score files: general-assistance share with 95%% CI and the verdict",
        description="Summarise score files written by `scopeguard score` in one self-contained HTML file: "
        "the share of general_assistance flows with a 95%% Wilson interval and the verdict against --limit, "
        "the share over time, by language, channel, business/domain and category, the score histogram, the "
        "top flagged conversations and, with --labels, precision/recall against human labels. The main "
        "table is also written as CSV and PNG next to the HTML. See docs/SCORING.md.",
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from classifier.report import ReportOptions, build_report

    options = ReportOptions(
        scores=tuple(args.scores),
        out=args.out,
        labels=tuple(args.labels),
        limit=args.limit,
        show_text=args.show_text,
        transcripts=tuple(args.transcripts),
        reader={"format": args.format, "business_sender": args.business_sender},
    )
    result = build_report(options)
    share = result.share
    print(f"{result.verdict.headline} {result.verdict.explanation}")
    print(f"report: {result.html}  table: {result.table_csv}, {result.table_png}")
    if share.n == 0:
        print("scopeguard report: the score files hold no conversations", file=sys.stderr)
    return 0
