"""ONNX export of a TurnScorer, dynamic int8 quantisation, and the checks that an exported graph is right.

The graph takes ``input_ids`` and ``attention_mask`` (int64 [batch, seq]) and returns ``token_logits``
(float32 [batch, seq, 2]); span means are done by the caller (numpy), exactly as in training.
Two exporters exist in torch 2.13: the TorchScript one (``legacy``) and ``dynamo``; both have been seen
to produce wrong logits in some setups, so every export is followed by ``parity`` against torch.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import onnxruntime as ort
import torch

from classifier.backend import TOKEN_LOGITS, OnnxBackend, onnx_session, pad_windows
from classifier.render import Window
from training.model import TurnScorer
from training.torch_backend import TorchBackend

log = logging.getLogger(__name__)

Exporter = Literal["legacy", "dynamo"]
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = TOKEN_LOGITS
OPSET = 17
# torch and onnxruntime fp32 kernels sum in different orders: over 12 layers, token logits of magnitude
# ~10 differ by up to ~1e-4 (6.8e-5 and 1.02e-4 on two #11 runs of the same recipe); a wrong graph
# differs by orders of magnitude more (> 0.1). Decisions are checked separately (the agreement rule).
PARITY_TOLERANCE = 1e-3


class ExportError(RuntimeError):
    """An exporter failed or produced a graph whose logits disagree with torch."""


def _example_inputs(pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Two rows of different lengths so the tracer sees a real padding mask, never a constant one.
    ids = torch.full((2, 16), pad_id, dtype=torch.long)
    ids[:, 0] = 1
    ids[0, 1:16] = torch.arange(2, 17)
    ids[1, 1:9] = torch.arange(2, 10)
    mask = (torch.arange(16)[None, :] < torch.tensor([[16], [9]])).long()
    return ids, mask


def export_onnx(
    model: TurnScorer, path: str | Path, *, pad_id: int, exporter: Exporter = "legacy", opset: int = OPSET
) -> Path:
    """Write the fp32 graph of ``model`` (in eval mode) to ``path`` as one self-contained file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    args = _example_inputs(pad_id)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Expected and checked by ``parity``: the tracer freezes transformers' "is the mask shorter
            # than the keys" branch (never true here: the mask always spans the sequence), and
            # aten::index over non-negative span indices.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=".*aten::index.*")
            # The TorchScript exporter is deprecated upstream but is kept on purpose: see export_checked.
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
            warnings.filterwarnings("ignore", message="The feature will be removed")
            if exporter == "legacy":
                torch.onnx.export(
                    model,
                    args,
                    str(path),
                    input_names=list(INPUT_NAMES),
                    output_names=[OUTPUT_NAME],
                    dynamic_axes={
                        "input_ids": {0: "batch", 1: "seq"},
                        "attention_mask": {0: "batch", 1: "seq"},
                        OUTPUT_NAME: {0: "batch", 1: "seq"},
                    },
                    opset_version=opset,
                    do_constant_folding=True,
                    dynamo=False,
                )
            elif exporter == "dynamo":
                batch = torch.export.Dim("batch", min=1)
                seq = torch.export.Dim("seq", min=2)
                program = torch.onnx.export(
                    model,
                    args,
                    input_names=list(INPUT_NAMES),
                    output_names=[OUTPUT_NAME],
                    dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                    opset_version=max(opset, 18),
                    dynamo=True,
                    external_data=False,
                )
                if program is None:
                    raise ExportError("the dynamo exporter returned no program")
                program.save(str(path), external_data=False)
            else:
                raise ValueError(f"exporter must be 'legacy' or 'dynamo', got {exporter!r}")
    except ImportError as exc:
        raise ExportError(f"the {exporter} ONNX exporter is not available: {exc}") from exc
    onnx.checker.check_model(str(path))
    return path


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    *,
    per_channel: bool = False,
    reduce_range: bool = False,
    keep_fp32: str | None = None,
) -> Path:
    """Dynamic int8 quantisation (QInt8 weights, activations quantised at run time) with onnxruntime.

    ``keep_fp32``: a regular expression; nodes whose name matches it stay in fp32.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_path = Path(out_path)
    excluded = []
    if keep_fp32:
        pattern = re.compile(keep_fp32)
        excluded = [n.name for n in onnx.load(str(fp32_path)).graph.node if pattern.search(n.name)]
    quantize_dynamic(
        str(fp32_path),
        str(out_path),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
        nodes_to_exclude=excluded,
        # Only consulted where ONNX type inference has no answer (onnxruntime's fused contrib ops such as
        # Attention, SkipLayerNormalization); the exported graphs are all-float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return out_path


def int8_products_saturate(threads: int = 1) -> bool:
    """Whether this CPU's onnxruntime int8 kernel (uint8 activations x int8 weights, MatMulInteger)
    saturates: without VNNI (AVX2 only) it adds pairs of products in int16 (``vpmaddubsw``), so full-range
    weights overflow and the graph is no longer the exact int8 product; 7-bit weights (``reduce_range``)
    stay exact everywhere. Measured on a one-row product that overflows int16 exactly when it saturates."""
    from onnx import TensorProto, helper, numpy_helper

    width = 64
    weights = numpy_helper.from_array(np.full((width, 1), 127, dtype=np.int8), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "int8_probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, width])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 1])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    product = session.run(None, {"a": np.full((1, width), 255, dtype=np.uint8)})[0]
    return int(product[0, 0]) != 255 * 127 * width


def quantize_weights(
    fp32_path: str | Path,
    out_path: str | Path,
    *,
    matmul_bits: int = 8,
    block_size: int = 32,
    min_table_rows: int = 1024,
) -> Path:
    """Weight-only quantisation: MatMul weights to ``matmul_bits`` (onnxruntime MatMulNBits, symmetric,
    one scale per ``block_size`` values) and large embedding tables to int8 with one scale per row.

    Activations are quantised per row and block inside the products (accuracy level 4: int8 compute on
    VNNI/AMX, faster than dequantising to fp32), never across rows, so a conversation's scores do not
    depend on its batch-mates (unlike dynamic int8, which scales over the whole call).
    Embeddings: onnxruntime's GatherBlockQuantized only has 4 bits, which moved validation decisions
    of the e5 model to the edge of the agreement rule (mean flow-logit change 0.11 vs 0.07 with fp32
    embeddings), so tables of at least ``min_table_rows`` rows are stored as int8 rows with a per-row
    scale and dequantised after the lookup (Gather, Cast, Mul: standard ONNX ops, only the looked-up
    rows are touched).
    """
    from onnxruntime.quantization import QuantFormat
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    # the quantiser logs every node at INFO
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    config = DefaultWeightOnlyQuantConfig(
        block_size=block_size,
        is_symmetric=True,
        bits=matmul_bits,
        accuracy_level=4,
        op_types_to_quantize=("MatMul",),
        quant_format=QuantFormat.QOperator,
    )
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32_path)), algo_config=config)
    quantizer.process()
    model = quantizer.model.model
    _quantize_embedding_rows(model, min_table_rows)
    out_path = Path(out_path)
    onnx.save(model, str(out_path))
    return out_path


@dataclass(frozen=True)
class _NBitsBlocks:
    """The constants of one MatMulNBits node, one row per output column: ``codes`` [N, blocks, block]
    (uint8, one code per value), ``zero`` [N, blocks] (uint8), ``scales`` [N, blocks] (float32)."""

    bits: int
    k: int
    block_size: int
    codes: np.ndarray
    zero: np.ndarray
    scales: np.ndarray

    def dense(self) -> np.ndarray:
        """[K, N] float32 weights, ``(code - zero point) * scale`` per block: what the kernel multiplies."""
        values = (self.codes.astype(np.float32) - self.zero[..., None]) * self.scales[..., None]
        return np.ascontiguousarray(values.reshape(len(values), -1)[:, : self.k].T)


def _nbits_blocks(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> _NBitsBlocks:
    from onnx import helper, numpy_helper

    attrs: dict[str, Any] = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    bits, k, n = attrs.get("bits", 4), attrs["K"], attrs["N"]
    if bits not in (4, 8) or len(node.input) > 4 or any(x not in inits for x in node.input[1:] if x):
        raise ExportError(f"{node.name}: only constant 4- or 8-bit MatMulNBits without bias are supported")
    packed = numpy_helper.to_array(inits[node.input[1]])  # [N, blocks, blob]
    codes = packed if bits == 8 else _nibbles(packed).reshape(n, packed.shape[1], -1)
    blocks = codes.shape[1]
    scales = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32).reshape(n, blocks)
    if len(node.input) == 4 and node.input[3]:
        zero = numpy_helper.to_array(inits[node.input[3]])
        if bits == 4:
            zero = _nibbles(zero).reshape(n, -1)[:, :blocks]
        zero = zero.reshape(n, blocks).astype(np.uint8)
    else:
        zero = np.full((n, blocks), 2 ** (bits - 1), dtype=np.uint8)  # the symmetric default
    block_size: int = attrs["block_size"]  # required by MatMulNBits
    return _NBitsBlocks(bits, k, block_size, codes.astype(np.uint8), zero, scales)


def _nibbles(packed: np.ndarray) -> np.ndarray:
    """4-bit codes packed two to a byte, low nibble first (MatMulNBits), as one uint8 per code."""
    return np.stack([packed & 0x0F, packed >> 4], axis=-1)


def _export_name(node: onnx.NodeProto, bits: int) -> str:
    """The quantiser named a node "<MatMul>_Q<bits>": the MatMul's export name, which regexes such as
    training.package.FFN_DOWN_PROJECTIONS select nodes by."""
    return re.sub(rf"_Q{bits}$", "", node.name)


def dequantize_weights(weights_path: str | Path, out_path: str | Path) -> Path:
    """The fp32-compute graph of an int8-weights graph (``quantize_weights``, or its DequantizeLinear form
    ``as_dequantize_linear``): every quantised MatMul weight becomes its fp32 values, ``(code - zero
    point) * scale`` per block, exactly what the kernels multiply. A model folder carries only its
    int8-weights graph; this rebuilds the reference that int8 kernels are judged against
    (``benchmarks.bench_precision`` on a clean clone). Embedding rows stay as they are: their lookup
    already dequantises in fp32."""
    from onnx import helper, numpy_helper

    model = onnx.load(str(weights_path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes, weights, used = [], [], set()
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(x in inits for x in node.input if x):
            weights.append(numpy_helper.from_array(_dequantize_linear_values(node, inits), node.output[0]))
            used.update(node.input)
        elif node.op_type == "MatMulNBits":
            blocks = _nbits_blocks(node, inits)
            name = f"{node.input[1]}_dequantized"
            weights.append(numpy_helper.from_array(blocks.dense(), name))
            used.update(node.input[1:])
            nodes.append(
                helper.make_node(
                    "MatMul", [node.input[0], name], list(node.output), name=_export_name(node, blocks.bits)
                )
            )
        else:
            nodes.append(node)
    kept = [t for t in graph.initializer if t.name not in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + weights)
    del graph.node[:]
    graph.node.extend(nodes)
    out_path = Path(out_path)
    onnx.save(model, str(out_path))
    onnx.checker.check_model(str(out_path))
    return out_path


def _dequantize_linear_values(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> np.ndarray:
    """The float32 output of a constant blockwise DequantizeLinear along axis 0 (``as_dequantize_linear``)."""
    from onnx import helper, numpy_helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    codes = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
    scales = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
    zero = (
        numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
        if len(node.input) > 2 and node.input[2]
        else np.zeros_like(scales)
    )
    if attrs.get("axis", 1) != 0 or codes.ndim != 2:
        raise ExportError(f"{node.name}: only 2-D DequantizeLinear weights blocked on axis 0 are supported")
    block = attrs.get("block_size", 0) or codes.shape[0]
    rows = np.arange(codes.shape[0]) // block
    return np.ascontiguousarray((codes - zero[rows]) * scales[rows])


def _integer_tensor(values: np.ndarray, name: str, bits: int) -> onnx.TensorProto:
    """uint8 values as a UINT8 (8 bits) or packed UINT4 (4 bits) initializer."""
    from onnx import TensorProto, helper, numpy_helper

    if bits == 8:
        return numpy_helper.from_array(values, name)
    return helper.make_tensor(name, TensorProto.UINT4, values.shape, values.flatten().tolist())


# Blockwise DequantizeLinear and 4-bit integer tensors need opset 21 and IR version 10.
BLOCKWISE_DQ_OPSET, BLOCKWISE_DQ_IR_VERSION = 21, 10


def as_dequantize_linear(weights_path: str | Path, out_path: str | Path) -> Path:
    """The same int8-weights graph with every MatMulNBits written as blockwise ``DequantizeLinear`` of
    its codes + ``MatMul``: the same bytes (codes, one scale and zero point per block), no decision moved.

    Why: a MatMulNBits node fixes its arithmetic in the graph (accuracy level 4: int8 activations, fast
    only with int8 dot products), while onnxruntime fuses this form into the identical MatMulNBits on
    request, or dequantises the weights once at load and multiplies in fp32
    (``classifier.compute.choose_compute``): one file serves CPUs with and without VNNI at their best."""
    from onnx import helper, numpy_helper

    model = onnx.load(str(weights_path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes, added, used = [], [], set()
    for node in graph.node:
        if node.op_type != "MatMulNBits":
            nodes.append(node)
            continue
        blocks = _nbits_blocks(node, inits)
        name = _export_name(node, blocks.bits)
        stem = node.input[1].removesuffix(f"_Q{blocks.bits}")
        codes = np.ascontiguousarray(blocks.codes.reshape(len(blocks.codes), -1)[:, : blocks.k].T)  # [K, N]
        zero = np.ascontiguousarray(blocks.zero.T)  # [blocks, N]
        code_t, zero_t = (
            _integer_tensor(codes, f"{stem}_q", blocks.bits),
            _integer_tensor(zero, f"{stem}_zero", blocks.bits),
        )
        scale_t = numpy_helper.from_array(np.ascontiguousarray(blocks.scales.T), f"{stem}_scale")
        added += [code_t, scale_t, zero_t]
        used.update(node.input[1:])
        weight = f"{stem}_dequantized"
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [code_t.name, scale_t.name, zero_t.name],
                [weight],
                name=f"{name}_dequantize",
                axis=0,
                block_size=blocks.block_size,
            )
        )
        nodes.append(helper.make_node("MatMul", [node.input[0], weight], list(node.output), name=name))
    if not added:
        raise ExportError(f"{weights_path}: no MatMulNBits node (not an int8-weights graph)")
    kept = [t for t in graph.initializer if t.name not in used]
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    del graph.node[:]
    graph.node.extend(nodes)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            # the graph's other operators mean the same from 17 to 21 (later versions only add types)
            opset.version = max(opset.version, BLOCKWISE_DQ_OPSET)
    model.ir_version = max(model.ir_version, BLOCKWISE_DQ_IR_VERSION)
    out_path = Path(out_path)
    onnx.save(model, str(out_path))
    onnx.checker.check_model(str(out_path))
    return out_path


def _quantize_embedding_rows(model: onnx.ModelProto, min_rows: int) -> None:
    """Replace ``Gather(table, ids)`` on a float table of >= ``min_rows`` rows by an int8 lookup.

    ``Gather(table_q, ids) -> Cast(float) -> Mul(Gather(row_scale, ids))``, with symmetric per-row scales.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    tables = {t.name: t for t in graph.initializer}
    nodes = []
    for node in graph.node:
        table = tables.get(node.input[0]) if node.op_type == "Gather" else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if table is None or table.data_type != TensorProto.FLOAT or axis != 0 or len(table.dims) != 2:
            nodes.append(node)
            continue
        values = numpy_helper.to_array(table)
        if values.shape[0] < min_rows:
            nodes.append(node)
            continue
        scale = np.abs(values).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0  # an all-zero row (padding) stays exactly zero
        quantized = np.clip(np.rint(values / scale), -127, 127).astype(np.int8)
        base = table.name
        graph.initializer.remove(table)
        graph.initializer.extend([
            numpy_helper.from_array(quantized, f"{base}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{base}_row_scale"),
        ])  # fmt: skip
        ids, out = node.input[1], node.output[0]
        nodes += [
            helper.make_node("Gather", [f"{base}_int8", ids], [f"{out}_int8"], name=f"{node.name}_int8"),
            helper.make_node("Cast", [f"{out}_int8"], [f"{out}_cast"], to=TensorProto.FLOAT,
                             name=f"{node.name}_cast"),
            helper.make_node("Gather", [f"{base}_row_scale", ids], [f"{out}_scale"],
                             name=f"{node.name}_scale"),
            helper.make_node("Mul", [f"{out}_cast", f"{out}_scale"], [out], name=f"{node.name}_dequant"),
        ]  # fmt: skip
    del graph.node[:]
    graph.node.extend(nodes)


def store_weights_fp16(fp32_path: str | Path, out_path: str | Path, *, min_elements: int = 1024) -> Path:
    """The fp32 graph with its large float initializers stored as fp16 and cast back to fp32 on load.

    Halves the file (the shipped model must stay under 60 MB) while onnxruntime folds the casts into
    fp32 constants when the session is created, so inference runs exactly the fp32 graph with weights
    rounded to fp16: no activation quantisation, and scores independent of batch-mates.
    """
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32_path))
    graph = model.graph
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(
            helper.make_node(
                "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__to_fp32"
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    out_path = Path(out_path)
    onnx.save(model, str(out_path))
    onnx.checker.check_model(str(out_path))
    return out_path


def store_weights_int8(
    fp32_path: str | Path, out_path: str | Path, *, block_size: int = 8, min_elements: int = 1024
) -> Path:
    """The fp32 graph with its MatMul weights and embedding tables stored as int8, dequantised to fp32
    constants when the session is created (Cast and Mul of initializers are folded): fp32 compute, a file
    of about a quarter, and scores independent of batch-mates.

    Symmetric round-to-nearest with one fp16 scale per ``block_size`` values along a MatMul weight's
    reduction axis, and one per row of an embedding table (a row is looked up whole). Measured on the #11
    experiment's graph (600 validation flows): one scale per output channel moved 1.2% of the decisions,
    per 32 values 0.7%, per 8 values 0.3% (docs/MODEL.md); activations are never quantised.
    """
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32_path))
    graph = model.graph
    blocks = _int8_block_axes(graph)
    kept, dequant = [], []
    for init in graph.initializer:
        axis = blocks.get(init.name)
        if axis is None or init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        reduce = values if axis == "k" else values.T  # [reduced, kept]: blocks run down the columns
        size = block_size if axis == "k" else reduce.shape[0]
        if reduce.shape[0] % size:
            kept.append(init)
            continue
        quantized, scale = _int8_blocks(reduce, size)
        name = init.name
        kept += [
            numpy_helper.from_array(quantized, f"{name}__int8"),
            numpy_helper.from_array(scale, f"{name}__scale"),
            numpy_helper.from_array(np.array(reduce.shape, dtype=np.int64), f"{name}__shape"),
        ]
        flat = name if axis == "k" else f"{name}__t"
        dequant += [
            helper.make_node("Cast", [f"{name}__int8"], [f"{name}__f32"], to=TensorProto.FLOAT),
            helper.make_node("Cast", [f"{name}__scale"], [f"{name}__scale32"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}__f32", f"{name}__scale32"], [f"{name}__blocks"]),
            helper.make_node("Reshape", [f"{name}__blocks", f"{name}__shape"], [flat]),
        ]
        if axis == "row":
            dequant.append(helper.make_node("Transpose", [flat], [name], perm=[1, 0]))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(dequant + nodes)
    out_path = Path(out_path)
    onnx.save(model, str(out_path))
    onnx.checker.check_model(str(out_path))
    return out_path


def _int8_block_axes(graph: onnx.GraphProto) -> dict[str, str]:
    """2-D initializers to store as int8: MatMul weights ("k": blocks along the reduction axis) and Gather
    tables ("row"); one used both ways, or any other way, stays float."""
    uses: dict[str, set[str]] = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            if node.op_type == "MatMul" and i == 1:
                uses.setdefault(name, set()).add("k")
            elif node.op_type == "Gather" and i == 0:
                uses.setdefault(name, set()).add("row")
            else:
                uses.setdefault(name, set()).add("other")
    dims = {init.name: len(init.dims) for init in graph.initializer}
    single = {name: next(iter(kinds)) for name, kinds in uses.items() if len(kinds) == 1}
    return {name: kind for name, kind in single.items() if kind != "other" and dims.get(name) == 2}


def _int8_blocks(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``values`` [K, N] as int8 blocks [K/size, size, N] and fp16 scales [K/size, 1, N] (symmetric)."""
    blocks = values.reshape(values.shape[0] // size, size, values.shape[1])
    scale = (np.abs(blocks).max(axis=1, keepdims=True) / 127.0).astype(np.float16).astype(np.float32)
    scale[scale == 0] = 1.0  # an all-zero block (padding row) stays exactly zero
    quantized = np.clip(np.rint(blocks / scale), -127, 127).astype(np.int8)
    return quantized, scale.astype(np.float16)


def batches_of(windows: Sequence[Window], batch_size: int) -> list[list[Window]]:
    """Consecutive batches of windows sorted by length (as served), so padding stays realistic."""
    ordered = sorted(windows, key=len)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def parity(
    model: TurnScorer,
    session: ort.InferenceSession,
    windows: Sequence[Window],
    *,
    pad_id: int,
    batch_size: int = 8,
) -> float:
    """Max |onnx - torch| token logit over the real (unpadded) positions of ``windows``."""
    if not windows:
        raise ValueError("parity needs at least one window")
    torch_backend = TorchBackend(model, pad_id=pad_id)
    onnx_backend = OnnxBackend(session, pad_id=pad_id)
    worst = 0.0
    for batch in batches_of(windows, batch_size):
        pairs = zip(onnx_backend.token_logits(batch), torch_backend.token_logits(batch), strict=True)
        for got, expected in pairs:
            if got.shape != expected.shape:
                raise ExportError(f"ONNX output shape {got.shape} differs from torch {expected.shape}")
            worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def check_parity(
    model: TurnScorer,
    onnx_path: str | Path,
    windows: Sequence[Window],
    *,
    pad_id: int,
    tolerance: float = PARITY_TOLERANCE,
) -> float:
    """``parity`` of an fp32 graph, raising ExportError above ``tolerance``."""
    diff = parity(model, onnx_session(onnx_path, threads=1), windows, pad_id=pad_id)
    if not diff < tolerance:
        raise ExportError(
            f"{onnx_path}: ONNX token logits differ from torch by {diff:.3g} (tolerance {tolerance:g}); "
            "the exported graph is wrong: try the other exporter"
        )
    return diff


def time_session(
    session: ort.InferenceSession,
    windows: Sequence[Window],
    *,
    pad_id: int,
    batch_size: int = 16,
    repeats: int = 1,
) -> float:
    """Seconds to score ``windows`` ``repeats`` times (best of the repeats)."""
    backend = OnnxBackend(session, pad_id=pad_id)
    batches = [pad_windows(b, pad_id) for b in batches_of(windows, batch_size)]
    backend.padded_logits(*batches[0])  # warm-up: first run allocates
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for ids, mask in batches:
            backend.padded_logits(ids, mask)
        best = min(best, time.perf_counter() - start)
    return best


@dataclass(frozen=True)
class ExportResult:
    path: Path
    exporter: Exporter
    parity: float
    seconds: float


def export_checked(
    model: TurnScorer,
    path: str | Path,
    windows: Sequence[Window],
    *,
    pad_id: int,
    exporters: Sequence[Exporter] = ("legacy", "dynamo"),
    tolerance: float = PARITY_TOLERANCE,
    timing_windows: int = 64,
) -> tuple[ExportResult, dict[str, dict[str, object]]]:
    """Export with every exporter in ``exporters``, keep the fastest graph that passes parity.

    Returns the kept export (written to ``path``) and a report per exporter (parity, seconds or error)
    for provenance. Raises ExportError when no exporter produced a correct graph.
    """
    path = Path(path)
    report: dict[str, dict[str, object]] = {}
    passed: list[ExportResult] = []
    for exporter in exporters:
        candidate = path.with_name(f"{path.stem}.{exporter}{path.suffix}")
        try:
            export_onnx(model, candidate, pad_id=pad_id, exporter=exporter)
            diff = check_parity(model, candidate, windows, pad_id=pad_id, tolerance=tolerance)
        except Exception as exc:  # an exporter failing is a result to record, not a crash
            report[exporter] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            log.warning("ONNX exporter %s rejected: %s", exporter, exc)
            candidate.unlink(missing_ok=True)
            continue
        session = onnx_session(candidate, threads=1)
        seconds = time_session(session, list(windows)[:timing_windows], pad_id=pad_id)
        report[exporter] = {"ok": True, "parity_max_abs_diff": diff, "seconds": seconds}
        passed.append(ExportResult(candidate, exporter, diff, seconds))
    if not passed:
        details = "; ".join(f"{name}: {r.get('error')}" for name, r in report.items())
        raise ExportError(f"no exporter produced a graph matching torch: {details}")
    best = min(passed, key=lambda r: r.seconds)
    for result in passed:
        if result is not best:
            result.path.unlink(missing_ok=True)
    best.path.replace(path)
    report["chosen"] = {"exporter": best.exporter}
    return ExportResult(path, best.exporter, best.parity, best.seconds), report


def initializer_digest(path: str | Path) -> str:
    """sha256 over the names and raw bytes of every weight in an ONNX file (ignores producer metadata)."""
    model = onnx.load(str(path))
    digest = hashlib.sha256()
    for init in sorted(model.graph.initializer, key=lambda t: t.name):
        digest.update(init.name.encode())
        digest.update(onnx.numpy_helper.to_array(init).tobytes())
    return digest.hexdigest()
