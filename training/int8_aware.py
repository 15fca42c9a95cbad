"""Quantisation-aware fine-tuning for onnxruntime's dynamic int8 (issue #13, step 1).

Dynamic int8 (``training.export.quantize_int8``) runs every weight MatMul as ``MatMulInteger``: the weight
rounded to int8 (symmetric, one scale per tensor), the activation rounded to uint8 at run time with one
scale and zero point over the whole input tensor (``DynamicQuantizeLinear``: its range always holds 0).
The embedding tables are stored as uint8 with one scale and zero point per table (dequantised after the
lookup), the same rounding as the activations'.
A model trained in fp32 was never asked to survive that rounding and moved 3% of its decisions under it.
``make_int8_aware`` puts the same rounding into every ``nn.Linear`` and ``nn.Embedding`` of a scorer for
training (straight-through gradients, as in Q8BERT); ``strip_int8_aware`` takes it out again, so the trained
scorer saves and exports as a plain ``TurnScorer`` and the rounding is onnxruntime's at inference.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

INT8_MAX = 127.0
UINT8_MAX = 255.0


def _straight_through(x: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
    """``rounded`` forward, identity backward."""
    return x + (rounded - x).detach()


def fake_int8_weight(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 with one scale per tensor (onnxruntime QInt8 weights, per_channel off)."""
    w = weight.float()
    scale = w.abs().amax().clamp_min(1e-12) / INT8_MAX
    return _straight_through(w, torch.round(w / scale).clamp(-INT8_MAX, INT8_MAX) * scale).to(weight.dtype)


def fake_uint8(x: torch.Tensor) -> torch.Tensor:
    """``DynamicQuantizeLinear``: uint8, one scale and zero point over the whole tensor, range holding 0
    (activations at run time; embedding tables when they are quantised)."""
    xf = x.float()
    low = xf.detach().amin().clamp(max=0.0)
    high = xf.detach().amax().clamp(min=0.0)
    scale = ((high - low) / UINT8_MAX).clamp_min(1e-12)
    zero = torch.round(-low / scale).clamp(0.0, UINT8_MAX)
    q = (torch.round(xf / scale) + zero).clamp(0.0, UINT8_MAX)
    return _straight_through(xf, (q - zero) * scale).to(x.dtype)


class Int8AwareLinear(nn.Module):
    """An ``nn.Linear`` whose input and weight pass through the int8 rounding of dynamic int8."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(fake_uint8(x), fake_int8_weight(self.linear.weight), self.linear.bias)


class Int8AwareEmbedding(nn.Module):
    """An ``nn.Embedding`` looked up in its uint8-rounded table."""

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        self.embedding = embedding

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.embedding
        return F.embedding(ids, fake_uint8(e.weight), e.padding_idx, e.max_norm, e.norm_type,
                           e.scale_grad_by_freq, e.sparse)  # fmt: skip


_WRAPPERS: dict[type[nn.Module], type[Int8AwareLinear | Int8AwareEmbedding]] = {
    nn.Linear: Int8AwareLinear,
    nn.Embedding: Int8AwareEmbedding,
}


def make_int8_aware(model: nn.Module) -> nn.Module:
    """Wrap every ``nn.Linear`` and ``nn.Embedding`` of ``model`` (in place); returns ``model``."""
    for name, child in list(model.named_children()):
        wrapper = _WRAPPERS.get(type(child))
        if wrapper is not None:
            setattr(model, name, wrapper(child))  # type: ignore[arg-type]
        elif not isinstance(child, (Int8AwareLinear, Int8AwareEmbedding)):
            make_int8_aware(child)
    return model


def strip_int8_aware(model: nn.Module) -> nn.Module:
    """Undo ``make_int8_aware`` (in place): the trained layers back, weights untouched."""
    for name, child in list(model.named_children()):
        if isinstance(child, Int8AwareLinear):
            setattr(model, name, child.linear)
        elif isinstance(child, Int8AwareEmbedding):
            setattr(model, name, child.embedding)
        else:
            strip_int8_aware(child)
    return model
