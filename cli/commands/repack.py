"""``scopeguard repack MODEL --out DIR``: let an older int8-weights model folder choose int8 or fp32 products.

Writes a copy of MODEL whose graph stores the same int8 weights as DequantizeLinear blocks
(training.repack), so that ``--compute auto`` uses fp32 products on CPUs without int8 dot products
(about 1.7x faster on an AVX2 EPYC) and int8 ones elsewhere. Needs the ``train`` extra (onnx).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "repack",
        help="rewrite an int8-weights model folder so --compute can choose int8 or fp32 products",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="int8-weights model folder (MatMulNBits)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="new model folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.repack import repack_model_folder

    config = repack_model_folder(args.model, args.out)
    print(f"wrote {args.out} ({config.model_id}, int8-weights as {config.int8_weights_format}; "
          "the same int8 logits, checked)")  # fmt: skip
    return 0
