"""A student distilled from a trained teacher: some of the teacher's encoder layers, trained on the labels
and on the teacher's turn scores.

The teacher is the torch scorer ``make train`` keeps in ``<checkpoint_dir>/<model id>/scorer``. The student
starts as a copy of it with only ``DistillConfig.layers`` of its encoder (embeddings and head copied), so it
saves, loads and exports like any ``TurnScorer``. ``DistillLoss`` mixes the hard-label loss of
``training.loop`` with a soft loss on every span; ``training.loop.fit`` trains with it unchanged.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from classifier.model_config import MODEL_CONFIG_FILE, ModelConfig
from training.config import DistillConfig, check_layers
from training.loop import Batch, batch_span_logits, hard_loss
from training.model import CHECKPOINT_SCORER_DIR, HEAD_FILE, TurnScorer

ENCODER_CONFIG_FILE = "config.json"  # transformers' config inside a TurnScorer.save folder


@dataclass(frozen=True)
class Teacher:
    """The loaded teacher and what the student's model folder records about it."""

    model: TurnScorer
    path: Path
    model_id: str | None  # from the checkpoint layout <checkpoint_dir>/<model id>/scorer, else None
    sha256: str  # of the scorer folder's files

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)


def teacher_dir(distill: DistillConfig, checkpoint_dir: Path | None) -> Path:
    """``distill.teacher``, or ``<checkpoint_dir>/<model id of distill.teacher_model>/scorer``."""
    if distill.teacher is not None:
        path = Path(distill.teacher)
    else:
        if not (Path(distill.teacher_model) / MODEL_CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"no teacher model: {Path(distill.teacher_model) / MODEL_CONFIG_FILE} does not exist; "
                "run make train first (or set student.teacher to a teacher's scorer folder)"
            )
        if checkpoint_dir is None:
            raise ValueError("student.teacher is None and checkpoint_dir is None: set one of them")
        model_id = ModelConfig.load(distill.teacher_model).model_id
        path = Path(checkpoint_dir) / model_id / CHECKPOINT_SCORER_DIR
    missing = [name for name in (ENCODER_CONFIG_FILE, HEAD_FILE) if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"teacher checkpoint {path} not found (expected a TurnScorer folder with {', '.join(missing)}); "
            "run make train first: it keeps each run's torch scorer in <checkpoint_dir>/<model id>/scorer"
        )
    return path


def folder_sha256(path: Path) -> str:
    """sha256 over the names and bytes of the files of ``path`` (sorted), recursively."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def load_teacher(distill: DistillConfig, checkpoint_dir: Path | None) -> Teacher:
    """The teacher of ``distill`` in eval mode, frozen."""
    path = teacher_dir(distill, checkpoint_dir)
    model = TurnScorer.load(path).eval()
    model.requires_grad_(False)
    resolved = path.resolve()
    model_id = resolved.parent.name if resolved.name == CHECKPOINT_SCORER_DIR else None
    return Teacher(model=model, path=path, model_id=model_id, sha256=folder_sha256(path))


def build_student(teacher: TurnScorer, layers: Sequence[int], *, dropout: float | None = None) -> TurnScorer:
    """A trainable copy of ``teacher`` that keeps only the encoder layers ``layers`` (embeddings and head
    copied); ``dropout`` sets the head's dropout (None: the teacher's)."""
    check_layers(layers, int(teacher.config.num_hidden_layers))
    student = copy.deepcopy(teacher)
    stack: Any = student.encoder.encoder  # transformers' BertEncoder: its layers are stack.layer
    stack.layer = nn.ModuleList([stack.layer[i] for i in layers])
    student.config.num_hidden_layers = len(layers)
    if dropout is not None:
        student.head.dropout.p = dropout
    student.requires_grad_(True)
    return student


def soft_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * mean BCE of ``student / T`` against ``sigmoid(teacher / T)`` over the spans (fp32)."""
    target = torch.sigmoid(teacher_logits.float() / temperature)
    bce = F.binary_cross_entropy_with_logits(student_logits.float() / temperature, target)
    return bce * temperature**2


@dataclass(frozen=True)
class DistillLoss:
    """``(1 - alpha) * hard_loss + alpha * soft_loss`` of a batch: a ``training.loop.LossFn``.

    The teacher runs in eval mode without gradients, under whatever autocast the caller (``fit``) set.
    """

    teacher: TurnScorer
    alpha: float
    temperature: float
    mil_weight: float
    pair_weight: float = 0.0

    def __post_init__(self) -> None:
        self.teacher.eval()

    def __call__(self, model: TurnScorer, batch: Batch) -> tuple[torch.Tensor, int] | None:
        logits = batch_span_logits(model, batch)
        hard = hard_loss(logits, batch, self.mil_weight, self.pair_weight)
        if self.alpha == 0 or logits.numel() == 0:
            return hard
        with torch.no_grad():
            teacher_logits = batch_span_logits(self.teacher, batch)
        soft = self.alpha * soft_loss(logits, teacher_logits, self.temperature)
        if hard is None:
            return soft, int(logits.numel())
        loss, n_terms = hard
        return (1 - self.alpha) * loss + soft, n_terms
