"""``scopeguard score INPUT... --out OUT``: one output row per conversation, in input order.

Streams the input (flat memory), writes JSONL, CSV or Parquet by the extension of ``--out``, puts every
unusable record into the quarantine file and prints ``N records read: N scored, N quarantined``.
``--resume`` continues a stopped run from ``OUT.progress.json``. ``--engine spark`` scores with PySpark
(docs/SPARK.md). Writes the accounting sidecar ``<out stem>.summary.json``. Exit code 0 on success, 1 when
``--strict`` stopped at an unusable record, no record could be read or every record was quarantined, 2 for
usage errors. See docs/SCORING.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.commands.reader_args import (
    _positive_int,
    add_business_argument,
    add_compute_argument,
    add_reader_arguments,
    business_profile,
    reader_kwargs,
)

ENGINES = ("local", "spark")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "score",
        help="classify every conversation of an archive (JSONL, CSV or Parquet output)",
        description="Score transcripts with a model folder: one output row per conversation in input order "
        "(id, label, score, threshold, model, evidence turns, source, lang, ts, meta fields; no transcript "
        "text). Unusable records go to the quarantine file and the run continues (--strict: stop). Every "
        "record is accounted for: 'N records read: N scored, N quarantined', per file in OUT's "
        ".summary.json. Duplicate ids are scored once. Ids are pseudonymised unless --raw-ids. Exit code 0 "
        "on success, 1 when --strict stopped, nothing was read or everything was quarantined, 2 for usage "
        "errors. See docs/SCORING.md.",
    )
    add_reader_arguments(parser)
    add_business_argument(parser)
    add_compute_argument(parser)
    parser.add_argument("--out", required=True, type=Path, help="output file: .jsonl, .csv or .parquet")
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model folder (default: $SCOPEGUARD_MODEL, else models/default of the scopeguard source tree)",
    )
    parser.add_argument(
        "--quarantine",
        type=Path,
        metavar="FILE",
        help="JSONL of unusable records: file, line, id, reason (default: <out stem>.quarantine.jsonl)",
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first unusable record (exit 1)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped run with the same arguments (OUT.progress.json)",
    )
    parser.add_argument(
        "--raw-ids",
        action="store_true",
        help="keep phone numbers in ids and sources (default: replaced by keyed digests, docs/SCORING.md)",
    )
    parser.add_argument(
        "--id-key",
        type=Path,
        metavar="FILE",
        help="key file of the id pseudonyms (default: $SCOPEGUARD_ID_KEY_FILE, else "
        "~/.config/scopeguard/id-key, created with mode 0600 on first use)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="scoring processes (default 1: one process using onnxruntime's intra-op threads)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="onnxruntime intra-op threads per process (default: all cores with 1 worker, cores/N with N)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=256,
        metavar="N",
        help="records scored and checkpointed together (default: 256)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="windows per onnxruntime call (default: 1 for int8 models, so a score never depends on the "
        "conversations batched with it; 16 for fp32, which is batch-invariant)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local (default) or spark: score schema-v1 JSONL with PySpark and write Parquet (docs/SPARK.md)",
    )
    parser.add_argument(
        "--spark-master", metavar="URL", help="with --engine spark: master URL (default local[*])"
    )
    parser.set_defaults(func=run)


def print_summary(summary: Any, out: Any) -> None:
    for reason, n in sorted(summary.skipped.items()):
        print(f"skipped by rule: {n} {reason}", file=out)
    if summary.already_complete:
        print(f"{summary.out}: already complete (checkpoint says so); nothing to do", file=out)
    elif summary.resumed_from:
        print(f"resumed after {summary.resumed_from} records", file=out)
    print(
        f"{summary.read} records read: {summary.scored} scored, {summary.quarantined} quarantined"
        + (f" ({summary.quarantine})" if summary.quarantined else ""),
        file=out,
    )
    if summary.stopped_early:
        print("stopped at the first unusable record (--strict)", file=out)
    if summary.duplicates:
        print(f"{summary.duplicates} duplicate ids quarantined (each conversation is scored once)", file=out)
    print(f"scores: {summary.out}  model: {summary.model_id} ({summary.compute} products)", file=out)
    if summary.profile is not None:
        print(f"business profile for records without their own: {summary.profile}", file=out)
    if summary.summary_file is not None:
        print(f"accounting: {summary.summary_file} (read by scopeguard report)", file=out)


def run(args: argparse.Namespace) -> int:
    from classifier.model_path import resolve_model_dir
    from classifier.scoring import ScoreJob, run_score

    model_dir = resolve_model_dir(args.model)
    if args.engine == "spark":
        from cli.commands.spark_score import run_spark_score

        if args.business is not None:
            raise ValueError(
                "--business is not available with --engine spark yet: put the profile in "
                "each record's meta.business, or use the local engine"
            )
        if args.compute != "auto":
            raise ValueError(
                "--compute is not available with --engine spark: each executor picks its CPU's best "
                "arithmetic (auto); use the local engine to force one"
            )
        return run_spark_score(args, model_dir)
    job = ScoreJob(
        inputs=tuple(args.paths),
        out=args.out,
        model_dir=model_dir,
        quarantine=args.quarantine,
        workers=args.workers,
        threads=args.threads,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        strict=args.strict,
        resume=args.resume,
        profile=business_profile(args),
        raw_ids=args.raw_ids,
        id_key=args.id_key,
        compute=args.compute,
        **reader_kwargs(args),
    )
    try:
        summary = run_score(job, err=sys.stderr)
    except KeyboardInterrupt:
        print(
            "scopeguard score: interrupted; run the same command with --resume to continue where it stopped",
            file=sys.stderr,
        )
        return 130
    print_summary(summary, sys.stdout)
    if summary.failure is not None:
        print(f"scopeguard score: {summary.failure}", file=sys.stderr)
        return 1
    if not summary.accounted:  # an invariant; if it breaks, say so loudly rather than exit 0
        print(
            f"scopeguard score: internal error: {summary.read} records read but "
            f"{summary.scored + summary.quarantined} written",
            file=sys.stderr,
        )
        return 3
    return 1 if summary.stopped_early else 0
