"""Quantisation-aware training (training.int8_aware): the rounding is onnxruntime's dynamic int8."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from classifier.backend import onnx_session, pad_windows
from classifier.model_config import special_tokens_of
from training.config import DistillConfig
from training.export import export_onnx, int8_products_saturate, quantize_int8
from training.int8_aware import (
    Int8AwareEmbedding,
    Int8AwareLinear,
    fake_int8_weight,
    fake_uint8,
    make_int8_aware,
    strip_int8_aware,
)
from training.model import TurnScorer
from training.tiny import FALLBACK_TEXTS, tiny_encoder_config, train_tokenizer, windows_of_texts


def onnxruntime_dynamic_uint8(x: np.ndarray) -> np.ndarray:
    """What onnxruntime makes of ``x`` at a MatMulInteger input: DynamicQuantizeLinear, dequantised."""
    node_q = helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero"])
    node_d = helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"])
    graph = helper.make_graph(
        [node_q, node_d], "dq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x.shape))],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("shift", [0.0, 3.0, -3.0])  # ranges across 0, all positive, all negative
def test_activation_rounding_is_onnxruntimes(shift):
    x = (torch.randn(4, 7, 48, generator=torch.Generator().manual_seed(1)) * 2 + shift).float()
    ours = fake_uint8(x).numpy()
    np.testing.assert_allclose(ours, onnxruntime_dynamic_uint8(x.numpy()), atol=1e-6, rtol=0)
    assert len(np.unique(ours)) <= 256 and not np.allclose(ours, x.numpy())


def test_weight_rounding_is_symmetric_int8_per_tensor():
    w = torch.randn(32, 48, generator=torch.Generator().manual_seed(2))
    q = fake_int8_weight(w)
    scale = w.abs().max() / 127
    levels = (q / scale).numpy()
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert np.abs(levels).max() == pytest.approx(127, abs=1e-4)
    assert float((q - w).abs().max()) <= float(scale) / 2 + 1e-6


def test_rounding_passes_gradients_straight_through():
    x = torch.randn(3, 16, requires_grad=True)
    w = torch.randn(8, 16, requires_grad=True)
    (fake_uint8(x).sum() + fake_int8_weight(w).sum()).backward()
    assert torch.equal(x.grad, torch.ones_like(x)) and torch.equal(w.grad, torch.ones_like(w))


def tiny_scorer(vocab: int, seed: int = 0) -> TurnScorer:
    config = tiny_encoder_config(vocab)
    torch.manual_seed(seed)
    return TurnScorer.from_config(config).eval()


def test_make_and_strip_wrap_every_linear_and_leave_the_weights():
    model = tiny_scorer(64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    kinds = (torch.nn.Linear, torch.nn.Embedding)
    plain = sum(isinstance(m, kinds) for m in model.modules())
    make_int8_aware(model)
    assert sum(isinstance(m, (Int8AwareLinear, Int8AwareEmbedding)) for m in model.modules()) == plain > 3
    make_int8_aware(model)  # idempotent: no wrapper inside a wrapper
    assert sum(isinstance(m, (Int8AwareLinear, Int8AwareEmbedding)) for m in model.modules()) == plain
    strip_int8_aware(model)
    assert not any(isinstance(m, (Int8AwareLinear, Int8AwareEmbedding)) for m in model.modules())
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)


@pytest.mark.skipif(
    int8_products_saturate(),
    reason="this CPU's onnxruntime int8 kernel saturates int16 pair sums (no VNNI): its dynamic int8 graph "
    "is not the exact int8 product that the int8-aware forward simulates",
)
def test_the_int8_aware_forward_is_what_onnxruntime_dynamic_int8_computes(tmp_path):
    """The point of the module: training sees the logits the int8 graph will give, not fp32's."""
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    special = special_tokens_of(tokenizer)
    windows = windows_of_texts(tokenizer)[:8]
    model = tiny_scorer(tokenizer.get_vocab_size(), seed=3)
    fp32_path = export_onnx(model, tmp_path / "model.onnx", pad_id=special.pad_id)
    int8_path = quantize_int8(fp32_path, tmp_path / "model.int8.onnx")
    assert any(n.op_type == "MatMulInteger" for n in onnx.load(str(int8_path)).graph.node)
    ids, mask = pad_windows(windows, special.pad_id)
    int8 = onnx_session(int8_path, threads=1).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        plain = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        aware = make_int8_aware(model)(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    gap_plain, gap_aware = np.abs(plain - int8).mean(), np.abs(aware - int8).mean()
    assert gap_aware < 1e-5 < gap_plain, (gap_aware, gap_plain)


def test_config_switch_defaults_off():
    assert DistillConfig().int8_aware is False and DistillConfig(int8_aware=True).int8_aware
