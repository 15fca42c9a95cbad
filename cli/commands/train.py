"""``scopeguard train [--config training/config.yaml]``: train, calibrate, export and evaluate a model.

Runs training.train.run_training with the validated config (see training/config.yaml for every setting):
the provenance gate on data/manifest.json, deterministic fine-tuning, Platt calibration and threshold on
validation, checked ONNX export with measured int8 quantisation, and a model folder with metrics.json,
provenance.json, MODEL_CARD.md and plots. Needs the ``train`` extra (torch, transformers, ...).

A config with a ``student`` section (training/config-student.yaml, ``make train-student``) distils a
smaller student from the teacher that ``make train`` kept in runs/ instead of fine-tuning the base model
(training.distill); ``--teacher`` names another teacher scorer folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path("training/config.yaml")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train, calibrate, export and evaluate a model folder",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="YAML",
                        help=f"training config (default: {DEFAULT_CONFIG})")  # fmt: skip
    parser.add_argument("--output", type=Path, metavar="DIR", help="model folder (overrides output_dir)")
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps (smoke runs)")
    parser.add_argument(
        "--teacher", type=Path, metavar="DIR", help="teacher scorer folder (overrides student.teacher)"
    )
    parser.add_argument(
        "--autocast",
        choices=("none", "bf16"),
        help="mixed precision of training (overrides optim.autocast; none on CPUs without native bf16)",
    )
    parser.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from rich.logging import RichHandler

    # Our progress at INFO; libraries (onnxruntime quantisation logs every tensor at INFO) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[RichHandler(show_path=False)])
    logging.getLogger("training").setLevel(logging.INFO)
    try:
        from training.config import load_config
        from training.train import run_training
    except ImportError as exc:
        raise ValueError(f"scopeguard train needs the training extras (torch, transformers): {exc}") from None

    overrides: dict[str, Any] = {}
    if args.output is not None:
        overrides["output_dir"] = args.output
    if args.no_progress:
        overrides["progress"] = False
    config = load_config(args.config, **overrides)
    if args.max_steps is not None:
        config = config.model_copy(
            update={"optim": config.optim.model_copy(update={"max_steps": args.max_steps})}
        )
    if args.autocast is not None:
        config = config.model_copy(
            update={"optim": config.optim.model_copy(update={"autocast": args.autocast})}
        )
    if args.teacher is not None:
        if config.student is None:
            raise ValueError(
                f"--teacher needs a config with a student section; {args.config} has none "
                "(see training/config-student.yaml)"
            )
        student = config.student.model_copy(update={"teacher": args.teacher})
        config = config.model_copy(update={"student": student})
    result = run_training(config)
    print(f"wrote {result.model_dir} ({result.metrics['model_id']}, {result.metrics['precision']})")
    return 0
