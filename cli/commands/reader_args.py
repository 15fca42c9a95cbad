"""Command-line options shared by every command that reads transcripts (validate, score, ...)."""

from __future__ import annotations

import argparse
from typing import Any

from classifier.readers import FORMATS
from classifier.schema import Limits

_LIMIT_FIELDS = ("max_turns", "max_turn_chars", "max_conversation_chars", "max_id_chars")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def add_reader_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH... plus --format, --business-sender, --window-hours and the size limits."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (read recursively)")
    parser.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="input format (default: auto, by extension and first line; see docs/FORMATS.md)",
    )
    parser.add_argument(
        "--business-sender",
        metavar="NAME",
        help="whatsapp-txt: the sender name of the business (its messages are the bot's turns); "
        "without it, <file>.meta.json must give business_sender",
    )
    parser.add_argument(
        "--window-hours",
        type=_positive_float,
        default=24.0,
        metavar="H",
        help="wa-cloud: a gap longer than H hours starts a new conversation (default: 24)",
    )
    defaults = Limits()
    limits = parser.add_argument_group("limits (a conversation over a limit is an invalid record)")
    for name in _LIMIT_FIELDS:
        limits.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=_positive_int,
            default=getattr(defaults, name),
            metavar="N",
            help=f"default: {getattr(defaults, name)}",
        )


def add_business_argument(parser: argparse.ArgumentParser) -> None:
    """--business FILE: the business profile of every conversation that brings none (docs/PROFILES.md)."""
    parser.add_argument(
        "--business",
        metavar="FILE",
        help="business profile for conversations without their own (no system turn, no meta.business): "
        "YAML with name and description, or a plain-text file (docs/PROFILES.md)",
    )


def add_compute_argument(parser: argparse.ArgumentParser) -> None:
    """--compute: the product arithmetic of int8-weights models (classifier.compute.choose_compute)."""
    from classifier.compute import COMPUTE_CHOICES

    parser.add_argument(
        "--compute",
        choices=COMPUTE_CHOICES,
        default="auto",
        help="matrix products in int8 or fp32 (default auto: int8 where the CPU has int8 dot products, "
        "VNNI or Arm dotprod, else fp32; only models packaged as DequantizeLinear int8-weights can "
        "choose; docs/PERFORMANCE.md)",
    )


def business_profile(args: argparse.Namespace) -> Any:
    """The loaded ``--business`` profile (a classifier.schema.BusinessProfile), or None."""
    if args.business is None:
        return None
    from classifier.profile import load_profile

    return load_profile(args.business)


def reader_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for classifier.readers.read_conversations from parsed options."""
    return {
        "format": args.format,
        "limits": Limits(**{name: getattr(args, name) for name in _LIMIT_FIELDS}),
        "business_sender": args.business_sender,
        "window_hours": args.window_hours,
    }
