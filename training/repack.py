"""Repack an int8-weights model folder packaged with MatMulNBits so the runtime can choose its arithmetic.

Folders packaged before 2026-12-08 (the shipped d798d15e among them) store their MatMul weights as
MatMulNBits nodes, which fix int8 products; on CPUs without int8 dot products those are the slow ones
(docs/PERFORMANCE.md). ``repack_model_folder`` writes a copy whose graph holds the same int8 codes, scales
and zero points as blockwise ``DequantizeLinear`` (``training.export.as_dequantize_linear``), checks that
its int8 products give the original logits bit for bit, and marks the copy
``int8_weights_format: dequantize-linear``, so ``--compute`` (classifier/compute.py) can pick int8 or fp32
products. Nothing is retrained: the model id, calibration, threshold, metrics and card stay those of the
original; provenance.json records the repacking and MODEL_CARD.md gains a section that says what changed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from classifier.backend import OnnxBackend, onnx_session
from classifier.compute import DEQUANTIZE_LINEAR
from classifier.manifest import file_sha256
from classifier.model_config import MODEL_CARD_FILE, PROVENANCE_FILE, TOKENIZER_FILE, ModelConfig
from training.export import ExportError, as_dequantize_linear

# Random windows the repacked graph must score exactly as the original: enough rows and lengths to
# cross every block and kernel path, cheap enough to run on every repack.
CHECK_WINDOWS, CHECK_SEED = 8, 0


def repack_model_folder(src: str | Path, out: str | Path) -> ModelConfig:
    """Write ``out``: the model folder ``src`` with its MatMulNBits weights as DequantizeLinear blocks.

    ValueError for a folder that has nothing to repack (not int8-weights, or repacked already) or an
    ``out`` that exists and is not empty; ExportError if the repacked graph's int8 products differ."""
    src, out = Path(src), Path(out)
    config = ModelConfig.load(src)
    if config.precision != "int8-weights":
        raise ValueError(f"{src}: precision {config.precision}; only int8-weights folders can be repacked")
    if config.int8_weights_format == DEQUANTIZE_LINEAR:
        raise ValueError(f"{src}: already {DEQUANTIZE_LINEAR}; --compute can choose its arithmetic as it is")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not an empty folder: give a new one")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".repack-", dir=out.parent) as tmp:
        staged = Path(tmp) / "model"
        shutil.copytree(src, staged)
        original = src / config.onnx_file
        as_dequantize_linear(original, staged / config.onnx_file)
        vocab = Tokenizer.from_file(str(src / TOKENIZER_FILE)).get_vocab_size()
        check_same_int8_logits(original, staged / config.onnx_file, config.special_tokens.pad_id, vocab)
        repacked = config.model_copy(update={"int8_weights_format": DEQUANTIZE_LINEAR})
        repacked.save(staged)
        _record_repacking(staged / PROVENANCE_FILE, original, staged / config.onnx_file)
        _note_repacking_in_card(staged / MODEL_CARD_FILE)
        if out.exists():
            out.rmdir()
        staged.rename(out)
    return repacked


def check_same_int8_logits(original: Path, repacked: Path, pad_id: int, vocab_size: int) -> None:
    """ExportError unless both graphs give identical token logits in int8 products on random windows."""
    rng = np.random.default_rng(CHECK_SEED)
    lengths = rng.integers(4, 96, size=CHECK_WINDOWS)
    ids = np.full((CHECK_WINDOWS, int(lengths.max())), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(0, vocab_size, size=n)
        mask[row, :n] = 1
    before = OnnxBackend(onnx_session(original, compute="int8"), pad_id=pad_id).padded_logits(ids, mask)
    after = OnnxBackend(onnx_session(repacked, compute="int8"), pad_id=pad_id).padded_logits(ids, mask)
    if not np.array_equal(before, after):
        worst = float(np.abs(before - after).max())
        raise ExportError(f"{repacked}: its int8 logits differ from {original}'s (max {worst:g})")


def _record_repacking(provenance: Path, original: Path, repacked: Path) -> None:
    data: dict[str, Any] = json.loads(provenance.read_text(encoding="utf-8")) if provenance.is_file() else {}
    data["repacked"] = {
        "by": "training.repack.repack_model_folder (training.export.as_dequantize_linear)",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "int8_weights_format": DEQUANTIZE_LINEAR,
        "from_onnx_sha256": file_sha256(original),
        "onnx_sha256": file_sha256(repacked),
    }
    provenance.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# The card was written for the MatMulNBits form ("per-row activation quantisation"): what it says about the
# arithmetic holds only for int8 products now.
REPACKED_CARD_SECTION = """
## Repacked: the runtime chooses its arithmetic

This folder is the model above repacked by `scopeguard repack` (training.repack), not retrained: the same
int8 weight codes, scales and zero points are stored as blockwise `DequantizeLinear` instead of
`MatMulNBits` (`scopeguard.json`: `int8_weights_format: dequantize-linear`). Model id, calibration,
threshold and every number above are the original's. The precision line above describes int8 products
(per-row activation quantisation); the runtime now picks them only where the CPU has int8 dot products
and otherwise multiplies the dequantised weights in fp32 (`--compute`, docs/SCORING.md). In int8
products the repacked graph gives the original's logits bit for bit (checked when it was written);
provenance.json records both graphs' digests.
"""


def _note_repacking_in_card(card: Path) -> None:
    if card.is_file():
        text = card.read_text(encoding="utf-8").rstrip("\n")
        card.write_text(f"{text}\n{REPACKED_CARD_SECTION}", encoding="utf-8")
