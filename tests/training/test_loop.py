"""The training loop: determinism of a fit in fp32 and under bf16 autocast."""

from __future__ import annotations

import random

import pytest
import torch

from training.config import OptimConfig
from training.loop import Example, deterministic, fit
from training.model import BOT_CHANNEL, REQUEST_CHANNEL, TurnScorer
from training.tiny import tiny_encoder_config

VOCAB = 64


def _examples(count: int, seed: int) -> list[Example]:
    """Random one-window conversations: a user span and a bot span each with a target."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        length = rng.randint(8, 24)
        window = [1] + [rng.randint(4, VOCAB - 1) for _ in range(length - 2)] + [2]
        cut = length // 2
        label = i % 2
        out.append(Example(
            id=f"c{i}", label=label, mil=False, windows=[window], span_window=[0, 0],
            span_start=[1, cut], span_end=[cut, length - 1], span_turn=[0, 1],
            span_channel=[REQUEST_CHANNEL, BOT_CHANNEL], span_target=[float(label), float(label)],
        ))  # fmt: skip
    return out


def _fit_weights(autocast: str) -> dict[str, torch.Tensor]:
    optim = OptimConfig(batch_size=4, epochs=1, lr=1e-3, head_lr=1e-3, autocast=autocast)
    with deterministic(seed=3, threads=1):
        model = TurnScorer.from_config(tiny_encoder_config(VOCAB))
        fit(model, _examples(24, seed=1), optim, pad_id=0, seed=3)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("autocast", ["none", "bf16"])
def test_fit_is_deterministic(autocast):
    a, b = _fit_weights(autocast), _fit_weights(autocast)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_autocast_changes_the_computation_but_keeps_fp32_weights():
    full, mixed = _fit_weights("none"), _fit_weights("bf16")
    assert all(v.dtype == torch.float32 for v in mixed.values() if v.is_floating_point())
    assert any(not torch.equal(full[k], mixed[k]) for k in full)
