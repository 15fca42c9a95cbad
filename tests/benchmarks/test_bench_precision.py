"""bench-precision's fp32 reference: the run's own export, else rebuilt from an int8-weights folder."""

from __future__ import annotations

import argparse

import onnx
import pytest

from benchmarks.bench_precision import reference_graph
from training.tiny import FALLBACK_TEXTS, build_tiny_model


@pytest.mark.parametrize("precision", ["int8-weights", "fp32"])
def test_without_a_checkpoint_the_reference_is_rebuilt_only_from_int8_weights(tmp_path, precision):
    model = build_tiny_model(tmp_path / "model", FALLBACK_TEXTS, precision=precision)
    args = argparse.Namespace(model=model, checkpoint=tmp_path / "runs" / "missing")
    if precision == "fp32":
        with pytest.raises(SystemExit, match="not int8-weights"):
            reference_graph(args, tmp_path)
        return
    assert "DequantizeLinear" in {n.op_type for n in onnx.load(str(model / "model.onnx")).graph.node}
    fp32, source = reference_graph(args, tmp_path)
    assert "rebuilt from the shipped int8-weights file" in source
    ops = {n.op_type for n in onnx.load(str(fp32)).graph.node}
    assert "MatMul" in ops and not ops & {"MatMulNBits", "DequantizeLinear"}


def test_a_checkpoint_export_is_the_reference_when_there_is_one(tmp_path):
    model = build_tiny_model(tmp_path / "model", FALLBACK_TEXTS, precision="int8-weights")
    run = tmp_path / "runs" / "some-id"
    run.mkdir(parents=True)
    (run / "model.fp32.onnx").write_bytes((model / "model.onnx").read_bytes())
    fp32, source = reference_graph(argparse.Namespace(model=model, checkpoint=run), tmp_path)
    assert fp32 == run / "model.fp32.onnx" and "training run's fp32 export" in source
