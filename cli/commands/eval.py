"""``scopeguard eval DATA... [--model DIR] [--json]``: metrics of a model folder on labelled transcripts.

Reads transcripts in any supported format, scores every valid labelled conversation with the model
folder (ONNX), and prints accuracy, macro-F1, precision/recall/F1 of general_assistance, ROC-AUC, PR-AUC,
ECE, the confusion matrix, evidence accuracy (top bot turn among meta.general_turns) and breakdowns by
language, meta.domain, meta.category and meta.source. Invalid records are printed and counted;
unlabelled ones are counted and not scored. Exit code 0 when every record was valid, 1 otherwise,
2 for usage errors. Needs scikit-learn (the ``report`` extra, which ``make demo`` installs, or ``train``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.commands.reader_args import (
    add_business_argument,
    add_compute_argument,
    add_reader_arguments,
    business_profile,
    reader_kwargs,
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model folder on labelled transcripts",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    add_reader_arguments(parser)
    add_business_argument(parser)
    add_compute_argument(parser)
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="model folder (default: $SCOPEGUARD_MODEL, else models/default of the scopeguard source tree)",
    )
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="onnxruntime threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(func=run)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _recall(group: dict[str, Any]) -> str:
    """Recall of general_assistance; n/a for a group without general examples (it is undefined there)."""
    return "n/a" if not group.get("positives") else _fmt(group["general_recall"])


def _print_text(result: dict[str, Any], out: Any) -> None:
    from classifier.model_config import format_threshold
    from training.evaluate import summary_line

    print(summary_line(result["model"], result) + f" ({result['compute']} products)", file=out)
    o = result["overall"]
    (tn, fp), (fn, tp) = o["confusion_matrix"]["matrix"]
    print(f"confusion (rows true, columns predicted; business_support, general_assistance): "
          f"[[{tn}, {fp}], [{fn}, {tp}]]  threshold {format_threshold(result['threshold'])}",
          file=out)  # fmt: skip
    for key in ("lang", "domain", "category", "source"):
        groups = result.get(f"by_{key}")
        if not groups:
            continue
        print(f"\nby {key}:", file=out)
        width = max(len(k) for k in groups)
        for value, g in groups.items():
            line = (
                f"  {value:<{width}}  n={g['n']:<5} acc={_fmt(g['accuracy'])} "
                f"macroF1={_fmt(g['macro_f1'])} R(general)={_recall(g)}"
            )
            print(line, file=out)


def run(args: argparse.Namespace) -> int:
    import orjson

    from classifier.readers import read_conversations
    from classifier.schema import RecordError

    out = sys.stdout
    convs, errors = [], []
    for item in read_conversations(args.paths, **reader_kwargs(args)):
        if isinstance(item, RecordError):
            errors.append(item)
            if not args.json:
                print(item.describe(), file=sys.stderr)
            continue
        convs.append(item.conversation)
    labelled = [c for c in convs if c.label is not None]
    if not labelled:
        raise ValueError(f"no labelled conversation to evaluate ({len(convs)} valid, {len(errors)} invalid)")
    from classifier.model_path import resolve_model_dir

    result = _evaluate(
        resolve_model_dir(args.model), convs, args.threads, business_profile(args), args.compute
    )
    result["invalid"] = len(errors)
    if args.json:
        result["errors"] = [e.to_dict() for e in errors]
        out.write(
            orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n"
        )
    else:
        _print_text(result, out)
        print(f"\n{len(convs) + len(errors)} records: {len(labelled)} evaluated, "
              f"{result['unlabelled']} unlabelled, {len(errors)} invalid", file=out)  # fmt: skip
    return 0 if not errors else 1


def _evaluate(
    model_dir: Path, convs: list[Any], threads: int | None, profile: Any, compute: str
) -> dict[str, Any]:
    """``training.evaluate.evaluate_model`` with a progress bar (or log line) on stderr."""
    from classifier.scoring.progress import Progress
    from training.evaluate import evaluate_model

    with Progress(len(convs), sys.stderr, label="evaluating") as progress:
        return evaluate_model(
            model_dir,
            convs,
            threads=threads,
            profile=profile,
            compute=compute,
            on_progress=lambda done: progress.update(done, done, 0),
        )
