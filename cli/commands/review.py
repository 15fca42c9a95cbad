"""``scopeguard review pick|serve|label|status|export``: turn an archive into the company's own labels.

pick chooses conversations to review into a queue file (SQLite), serve runs the local review page,
label and status are the scripted way, export writes the labelled conversations as schema-v1 JSONL and
records them in the manifest of the export folder. Exit codes: 0 success; 1 when pick read invalid
records (they are in the quarantine file; the picks are stored) or label named a stale answer; 2 usage
errors (a missing file, a file that is not a queue, a bad label). See docs/REVIEW.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.commands.reader_args import (
    _positive_int,
    add_business_argument,
    add_reader_arguments,
    business_profile,
    reader_kwargs,
)


def _turns(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected turn numbers like 1,3, got {text!r}") from None


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "review",
        help="pick conversations to review, review them in a local page, export the labels",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    sub = parser.add_subparsers(dest="review_command", metavar="SUBCOMMAND", required=True)

    pick = sub.add_parser("pick", help="choose conversations of an archive to review into a queue file")
    add_reader_arguments(pick)
    add_business_argument(pick)
    pick.add_argument("--n", type=_positive_int, required=True, help="conversations to pick")
    pick.add_argument(
        "--queue", type=Path, required=True, metavar="QUEUE.db", help="queue file (made if missing)"
    )
    pick.add_argument("--seed", type=int, default=0, help="seed of tie-breaks, clusters and the random share")
    pick.add_argument("--random-share", type=float, default=0.1, metavar="F",
                      help="share of the picks drawn uniformly from the archive (default 0.1)")  # fmt: skip
    pick.add_argument("--model", metavar="DIR", help="model folder (default: as score)")
    pick.add_argument(
        "--second-model",
        type=Path,
        metavar="DIR",
        help="a second opinion (e.g. the previous model): disagreement raises priority",
    )
    pick.add_argument("--quarantine", type=Path, metavar="FILE", help="default: QUEUE.db.quarantine.jsonl")
    pick.add_argument(
        "--raw-ids", action="store_true", help="keep phone numbers in ids (default: pseudonyms)"
    )
    pick.add_argument("--id-key", type=Path, metavar="FILE", help="key file of the id pseudonyms (as score)")
    pick.add_argument("--threads", type=_positive_int, metavar="N", help="onnxruntime threads")
    pick.set_defaults(func=run_pick)

    serve = sub.add_parser("serve", help="run the local review page")
    serve.add_argument("queue", type=Path, metavar="QUEUE.db")
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default 8090")
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="no API keys: reviewers type their name (only on a machine nobody else uses)",
    )
    serve.set_defaults(func=run_serve)

    label = sub.add_parser("label", help="label one conversation of a queue (scripted review)")
    label.add_argument("queue", type=Path, metavar="QUEUE.db")
    label.add_argument("--id", required=True, help="the conversation id as stored in the queue")
    label.add_argument("--label", required=True, choices=("business_support", "general_assistance", "unsure"))
    label.add_argument("--general-turns", type=_turns, default=[], metavar="1,3", help="0-based bot turns")
    label.add_argument("--reviewer", default="cli", help="reviewer name (default: cli)")
    label.add_argument("--note", default=None)
    label.set_defaults(func=run_label)

    status = sub.add_parser("status", help="picked, labelled, pending, per reviewer, agreement")
    status.add_argument("queue", type=Path, metavar="QUEUE.db")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(func=run_status)

    export = sub.add_parser("export", help="write the labelled conversations as schema-v1 JSONL + manifest")
    export.add_argument("queue", type=Path, metavar="QUEUE.db")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="e.g. data/own")
    export.set_defaults(func=run_export)


def run_pick(args: argparse.Namespace) -> int:
    from classifier.model_path import resolve_model_dir
    from review.pick import PickJob, describe, run_pick

    job = PickJob(
        inputs=tuple(args.paths),
        queue=args.queue,
        model_dir=resolve_model_dir(args.model),
        n=args.n,
        seed=args.seed,
        random_share=args.random_share,
        profile=business_profile(args),
        second_model=args.second_model,
        quarantine=args.quarantine,
        raw_ids=args.raw_ids,
        id_key=args.id_key,
        threads=args.threads,
        reader=reader_kwargs(args),
    )
    report = run_pick(job)
    for line in describe(report):
        print(line)
    if report.considered == 0:
        print("scopeguard review pick: no valid conversation to pick from", file=sys.stderr)
        return 1
    return 1 if report.invalid else 0


def run_serve(args: argparse.Namespace) -> int:
    from review.app import ReviewSettings, serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = ReviewSettings(queue=args.queue, **overrides, auth=not args.no_auth)
    if not settings.auth:
        print("scopeguard review serve: --no-auth: anyone who can reach the page can label", file=sys.stderr)
    serve(settings, announce=lambda url: print(f"review page: {url}", flush=True))
    return 0


def run_label(args: argparse.Namespace) -> int:
    from review.queue import ReviewQueue

    with ReviewQueue.open(args.queue) as queue:
        item = queue.item_by_conv_id(args.id)
        queue.record(item.id, args.reviewer, "label", label=args.label, general_turns=args.general_turns,
                     note=args.note)  # fmt: skip
    print(f"{args.id}: {args.label} by {args.reviewer}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from review.queue import ReviewQueue
    from review.status import queue_status

    with ReviewQueue.open(args.queue) as queue:
        status = queue_status(queue)
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"{status['picked']} picked: {status['labelled']} labelled, {status['pending']} pending, "
          f"{status['exportable']} ready to export")  # fmt: skip
    for name, counts in status["reviewers"].items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for pair in status["agreement"]["pairs"]:
        print(f"  agreement {' / '.join(pair['reviewers'])}: {pair['shared']} shared, "
              f"agreement {pair['agreement']}, Cohen's kappa {pair['kappa']}")  # fmt: skip
    for d in status["agreement"]["disagreements"]:
        print(
            f"  disagreement on {d['conv_id']}: " + ", ".join(f"{r} {lab}" for r, lab in d["labels"].items())
        )
    return 0


def run_export(args: argparse.Namespace) -> int:
    from review.export import export_queue

    report = export_queue(args.queue, args.out)
    print(f"exported {report.exported} labelled conversations to {report.out} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(report.labels.items())) or 'none'}); "
          f"left out: {report.unlabelled} without a definite label, "
          f"{report.disagreements} disagreements")  # fmt: skip
    print(f"manifest: {report.manifest} (split own, exclusive_use: true)")
    return 0
