"""ONNX export of the turn scorer: fp32 parity with torch, int8 agreement, and the tiny model folder."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from classifier.backend import OnnxBackend, pad_windows
from classifier.backend import onnx_session as core_onnx_session
from classifier.inference import Classifier
from classifier.model_config import ModelConfig, special_tokens_of
from classifier.render import ConversationEncoder, RenderConfig
from training.export import (
    ExportError,
    check_parity,
    export_onnx,
    parity,
    quantize_int8,
    quantize_weights,
)
from training.model import TurnScorer
from training.tiny import (
    FALLBACK_TEXTS,
    conversations_from_texts,
    tiny_encoder_config,
    train_tokenizer,
)
from training.torch_backend import TorchBackend


def onnx_session(path):
    return core_onnx_session(path, threads=1)


def onnx_token_logits(session, ids, mask):
    """Padded logits of the raw session (the pad id is not used: the batch is padded already)."""
    return OnnxBackend(session, pad_id=0).padded_logits(ids, mask)


def torch_token_logits(model, ids, mask):
    return TorchBackend(model, pad_id=0).padded_logits(ids, mask)


@pytest.fixture(scope="module")
def tiny_parts():
    """A random tiny scorer, its tokenizer, and windows of varying length (one to several per flow)."""
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    torch.manual_seed(3)
    model = TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size())).eval()
    special = special_tokens_of(tokenizer)
    render = RenderConfig(max_tokens=64, max_turn_tokens=32, turn_tail_tokens=8, context_tokens=16,
                          max_system_tokens=8)  # fmt: skip
    encoder = ConversationEncoder(tokenizer, render, special.cls_id, special.sep_id)
    windows = [w for ws in encoder.encode_many(conversations_from_texts(FALLBACK_TEXTS)) for w in ws]
    return model, special, windows


@pytest.fixture(scope="module")
def fp32_path(tiny_parts, tmp_path_factory):
    model, special, _ = tiny_parts
    return export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx", pad_id=special.pad_id)


def test_windows_cover_varying_lengths(tiny_parts):
    _, _, windows = tiny_parts
    lengths = {len(w) for w in windows}
    assert len(lengths) >= 5 and min(lengths) < 20 and max(lengths) > 40


def test_fp32_onnx_matches_torch_on_padded_batches(tiny_parts, fp32_path):
    model, special, windows = tiny_parts
    # Batches mixing short and long windows, so most rows are padded.
    diff = parity(model, onnx_session(fp32_path), windows, pad_id=special.pad_id, batch_size=5)
    assert diff < 1e-4


def test_padding_does_not_change_a_windows_logits(tiny_parts, fp32_path):
    _, special, windows = tiny_parts
    short, long = min(windows, key=len), max(windows, key=len)
    session = onnx_session(fp32_path)
    alone = onnx_token_logits(session, *pad_windows([short], special.pad_id))[0]
    padded = onnx_token_logits(session, *pad_windows([short, long], special.pad_id))[0, : len(short)]
    np.testing.assert_allclose(padded, alone, atol=1e-5)


def test_graph_has_contract_inputs_outputs_and_dynamic_axes(fp32_path):
    graph = onnx.load(str(fp32_path)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["token_logits"]
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and dims[1].dim_param, f"{value.name} has fixed batch/seq axes"
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert graph.output[0].type.tensor_type.shape.dim[2].dim_value == 2


def test_parity_check_rejects_a_wrong_graph(tiny_parts, fp32_path, tmp_path):
    model, special, windows = tiny_parts
    other = TurnScorer.from_config(tiny_encoder_config(model.config.vocab_size)).eval()
    with pytest.raises(ExportError, match="differ from torch"):
        check_parity(other, fp32_path, windows, pad_id=special.pad_id)


def test_int8_runs_and_mostly_agrees_on_the_label(tiny_parts, fp32_path, tmp_path):
    model, special, windows = tiny_parts
    int8_path = quantize_int8(fp32_path, tmp_path / "model.int8.onnx", per_channel=True)
    assert int8_path.stat().st_size < fp32_path.stat().st_size
    ids, mask = pad_windows(windows, special.pad_id)
    ref = torch_token_logits(model, ids, mask)
    got = onnx_token_logits(onnx_session(int8_path), ids, mask)
    real = mask.astype(bool)
    # Labels per token position on the bot channel: random weights give logits near 0, so compare the
    # sign only where fp32 is not within int8 noise of the boundary.
    decided = real & (np.abs(ref[..., 0]) > 0.05)
    agreement = ((ref[..., 0] > 0) == (got[..., 0] > 0))[decided].mean()
    assert decided.sum() > 50
    assert agreement > 0.9
    assert np.abs(ref - got)[real].max() < 0.5


def test_tiny_model_folder_is_complete_and_loads(tiny_model_dir):
    config = ModelConfig.load(tiny_model_dir)
    assert config.model_id.startswith("scopeguard-tiny-r1-")
    assert (tiny_model_dir / config.onnx_file).is_file()
    assert (tiny_model_dir / "tokenizer.json").is_file()
    assert config.precision in ("int8", "int8-weights", "fp32")
    assert json.loads((tiny_model_dir / "scopeguard.json").read_text())["aggregation"] == "max"
    clf = Classifier.load(tiny_model_dir, threads=1)
    preds = clf.classify(conversations_from_texts(FALLBACK_TEXTS))
    assert all(0.0 <= p.score <= 1.0 and p.evidence for p in preds)


def test_tiny_model_is_deterministic(tmp_path):
    from training.export import initializer_digest
    from training.tiny import build_tiny_model

    a = build_tiny_model(tmp_path / "a", FALLBACK_TEXTS, seed=5, precision="fp32")
    b = build_tiny_model(tmp_path / "b", FALLBACK_TEXTS, seed=5, precision="fp32")
    c = build_tiny_model(tmp_path / "c", FALLBACK_TEXTS, seed=6, precision="fp32")
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    assert initializer_digest(a / "model.onnx") == initializer_digest(b / "model.onnx")
    assert initializer_digest(a / "model.onnx") != initializer_digest(c / "model.onnx")
    assert ModelConfig.load(a).model_id == ModelConfig.load(b).model_id


def test_saved_scorer_reloads_with_identical_logits(tiny_parts, tmp_path):
    model, special, windows = tiny_parts
    model.save(tmp_path / "scorer")
    again = TurnScorer.load(tmp_path / "scorer").eval()
    ids, mask = pad_windows(windows[:4], special.pad_id)
    np.testing.assert_array_equal(torch_token_logits(again, ids, mask), torch_token_logits(model, ids, mask))


def test_fp16_weight_storage_halves_the_file_and_keeps_the_logits(tiny_parts, fp32_path, tmp_path):
    from training.export import store_weights_fp16

    _, special, windows = tiny_parts
    out = store_weights_fp16(fp32_path, tmp_path / "half.onnx", min_elements=16)
    assert out.stat().st_size < 0.75 * fp32_path.stat().st_size
    feeds = pad_windows(windows[:6], special.pad_id)
    full = onnx_token_logits(onnx_session(fp32_path), *feeds)
    half = onnx_token_logits(onnx_session(out), *feeds)
    assert np.abs(full - half).max() < 1e-2
    assert not np.array_equal(full, half), "the weights really were rounded to fp16"


def test_weight_only_int8_is_smaller_close_to_fp32_and_batch_independent(tiny_parts, fp32_path, tmp_path):
    _, special, windows = tiny_parts
    path = quantize_weights(fp32_path, tmp_path / "w8.onnx", min_table_rows=16)
    tables = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    assert any(name.endswith("_int8") and t.data_type == onnx.TensorProto.INT8 for name, t in tables.items())
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "MatMulNBits" in ops
    assert path.stat().st_size < fp32_path.stat().st_size
    session = onnx_session(path)
    ids, mask = pad_windows(windows, special.pad_id)
    ref = onnx_token_logits(onnx_session(fp32_path), ids, mask)
    got = onnx_token_logits(session, ids, mask)
    real = mask.astype(bool)
    assert np.abs(ref - got)[real].max() < 0.05
    assert not np.array_equal(ref, got), "the weights really were quantised"
    # activations stay fp32: a window scores the same alone as inside a padded batch
    alone = onnx_token_logits(session, *pad_windows(windows[:1], special.pad_id))
    n = len(windows[0])
    np.testing.assert_allclose(alone[0, :n], got[0, :n], atol=1e-5)


def test_int8_weight_storage_quarters_the_weights_and_keeps_the_logits(tiny_parts, fp32_path, tmp_path):
    from training.export import store_weights_int8

    _, special, windows = tiny_parts
    out = store_weights_int8(fp32_path, tmp_path / "int8s.onnx", block_size=8, min_elements=16)
    graph = onnx.load(str(out)).graph
    stored = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert any(t.name.startswith("embeddings") or "embed" in t.name for t in stored), "the token table"
    assert sum(1 for t in stored if "embed" not in t.name) >= 4, "the MatMul weights"
    assert {n.op_type for n in graph.node} <= {n.op_type for n in onnx.load(str(fp32_path)).graph.node} | {
        "Cast",
        "Mul",
        "Reshape",
        "Transpose",
    }, "standard ops only: no quantised kernel, fp32 compute"
    assert out.stat().st_size < 0.5 * fp32_path.stat().st_size
    feeds = pad_windows(windows[:6], special.pad_id)
    full = onnx_token_logits(onnx_session(fp32_path), *feeds)
    stored_logits = onnx_token_logits(onnx_session(out), *feeds)
    assert np.abs(full - stored_logits).max() < 5e-2
    assert not np.array_equal(full, stored_logits), "the weights really were rounded to int8"
    # one window alone scores as it does among others: no activation ever quantised over a batch
    alone = onnx_token_logits(onnx_session(out), *pad_windows(windows[:1], special.pad_id))
    np.testing.assert_allclose(alone[0, : alone.shape[1]], stored_logits[0, : alone.shape[1]], atol=1e-5)


@pytest.mark.parametrize("bits", [8, 4])
def test_dequantised_weights_are_the_int8_weights_graphs_own_values(tiny_parts, fp32_path, tmp_path, bits):
    from training.export import dequantize_weights

    _, special, windows = tiny_parts
    packed = quantize_weights(fp32_path, tmp_path / "w.onnx", matmul_bits=bits, min_table_rows=16)
    dense = dequantize_weights(packed, tmp_path / "dense.onnx")
    ops = [n.op_type for n in onnx.load(str(dense)).graph.node]
    assert "MatMulNBits" not in ops
    names = sorted(n.name for n in onnx.load(str(dense)).graph.node if n.op_type == "MatMul")
    assert names == sorted(n.name for n in onnx.load(str(fp32_path)).graph.node if n.op_type == "MatMul")
    ids, mask = pad_windows(windows, special.pad_id)
    real = mask.astype(bool)
    fp32 = onnx_token_logits(onnx_session(fp32_path), ids, mask)
    got = onnx_token_logits(onnx_session(dense), ids, mask)
    assert np.abs(fp32 - got)[real].max() < (0.05 if bits == 8 else 0.5)
    assert not np.array_equal(fp32, got), "the rounded weights, not the original ones"
    if bits == 8:
        # on the int8 grid already: quantising the dequantised graph again gives the same codes and scales
        again = quantize_weights(dense, tmp_path / "again.onnx", min_table_rows=16)
        pairs = list(zip(_nbits_constants(packed), _nbits_constants(again), strict=True))
        assert pairs
        for (codes, scales), (codes_again, scales_again) in pairs:
            np.testing.assert_array_equal(codes, codes_again)
            np.testing.assert_allclose(scales, scales_again, rtol=1e-6)


@pytest.mark.parametrize("bits", [8, 4])
def test_dequantize_linear_form_computes_like_matmulnbits_in_int8_and_like_the_reference_in_fp32(
    tiny_parts, fp32_path, tmp_path, bits
):
    from training.export import as_dequantize_linear, dequantize_weights

    _, special, windows = tiny_parts
    packed = quantize_weights(fp32_path, tmp_path / "w.onnx", matmul_bits=bits, min_table_rows=16)
    form = as_dequantize_linear(packed, tmp_path / "dq.onnx")
    graph = onnx.load(str(form)).graph
    ops = [n.op_type for n in graph.node]
    assert "MatMulNBits" not in ops
    assert ops.count("DequantizeLinear") == len(_nbits_constants(packed)) > 0
    names = sorted(n.name for n in graph.node if n.op_type == "MatMul")
    assert names == sorted(n.name for n in onnx.load(str(fp32_path)).graph.node if n.op_type == "MatMul")
    assert form.stat().st_size < 1.1 * packed.stat().st_size, "the same codes and scales, not fp32 weights"
    ids, mask = pad_windows(windows, special.pad_id)
    nbits = onnx_token_logits(onnx_session(packed), ids, mask)
    reference = onnx_token_logits(onnx_session(dequantize_weights(packed, tmp_path / "ref.onnx")), ids, mask)
    assert not np.array_equal(nbits, reference), "int8 products differ from fp32 ones, or the test is blind"

    def logits(compute):
        session = core_onnx_session(form, threads=1, compute=compute)
        return onnx_token_logits(session, ids, mask)

    np.testing.assert_array_equal(logits("int8"), nbits)
    np.testing.assert_array_equal(logits("fp32"), reference)
    # the reference rebuilt from this form is the same graph as from MatMulNBits
    again = onnx_token_logits(onnx_session(dequantize_weights(form, tmp_path / "ref2.onnx")), ids, mask)
    np.testing.assert_array_equal(again, reference)
    with pytest.raises(ExportError, match="no MatMulNBits"):
        as_dequantize_linear(fp32_path, tmp_path / "x.onnx")


def test_an_int8_weights_folder_ships_dequantize_linear_and_scores_in_either_arithmetic(tmp_path):
    from training.export import dequantize_weights
    from training.package import score_flows
    from training.tiny import build_tiny_model

    folder = build_tiny_model(tmp_path / "model", FALLBACK_TEXTS, precision="int8-weights")
    config = ModelConfig.load(folder)
    assert (config.precision, config.int8_weights_format) == ("int8-weights", "dequantize-linear")
    assert "DequantizeLinear" in {n.op_type for n in onnx.load(str(folder / "model.onnx")).graph.node}
    convs = conversations_from_texts(FALLBACK_TEXTS)[:6]
    by_compute = {
        compute: [p.score for p in Classifier.load(folder, threads=1, compute=compute).classify(convs)]
        for compute in ("int8", "fp32")
    }
    reference = dequantize_weights(folder / "model.onnx", tmp_path / "ref.onnx")
    fp32_config = config.model_copy(update={"precision": "fp32", "int8_weights_format": "matmulnbits"})
    tokenizer = Classifier.load(folder, threads=1).encoder.tokenizer
    raw, _ = score_flows(reference, fp32_config, tokenizer, convs, threads=1)
    np.testing.assert_allclose(
        [r.flow_logit for r in Classifier.load(folder, threads=1, compute="fp32").turn_logits_many(convs)],
        [r.flow_logit for r in raw],
        atol=1e-6,
    )
    assert by_compute["int8"] != by_compute["fp32"], "the two arithmetics really differ here"


def _nbits_constants(path):
    """(codes, scales) of every MatMulNBits node of a graph, in node order."""
    graph = onnx.load(str(path)).graph
    values = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    return [(values[n.input[1]], values[n.input[2]]) for n in graph.node if n.op_type == "MatMulNBits"]
