"""A model folder over the size limit ships fp32 compute with its weights stored small (training.package)."""

from __future__ import annotations

import onnx
import pytest
import torch

from classifier.model_config import BaseModelInfo, Calibration, special_tokens_of
from classifier.render import RenderConfig
from training.model import TurnScorer
from training.package import write_model_folder
from training.tiny import FALLBACK_TEXTS, conversations_from_texts, tiny_encoder_config, train_tokenizer

RENDER = RenderConfig(max_tokens=64, max_turn_tokens=32, turn_tail_tokens=8, context_tokens=16,
                      max_system_tokens=8)  # fmt: skip


@pytest.fixture(scope="module")
def folder_writer(tmp_path_factory):
    tokenizer = train_tokenizer(FALLBACK_TEXTS)
    torch.manual_seed(5)
    model = TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size())).eval()

    def write(max_onnx_bytes: int | None):
        out = tmp_path_factory.mktemp("folder")
        result = write_model_folder(
            out,
            model=model,
            tokenizer=tokenizer,
            render=RENDER,
            special_tokens=special_tokens_of(tokenizer),
            base_model=BaseModelInfo(name="tiny-random-bert"),
            model_name="tiny",
            check_convs=conversations_from_texts(FALLBACK_TEXTS),
            calibration=Calibration(a=3.0, b=0.2),
            precision="fp32",
            exporters=("legacy",),
            max_onnx_bytes=max_onnx_bytes,
        )
        return out, result

    return write


def test_an_fp32_graph_over_the_limit_ships_with_int8_stored_weights(folder_writer):
    full, _ = folder_writer(None)
    fp32_size = (full / "model.onnx").stat().st_size
    out, result = folder_writer(int(0.6 * fp32_size))
    check = result.report.int8_storage
    assert check is not None and check.passes and check.label_agreement >= 0.995
    assert result.config.precision == "fp32" and result.report.fp16_weights is None
    shipped = out / "model.onnx"
    assert shipped.stat().st_size <= 0.6 * fp32_size
    assert any(t.data_type == onnx.TensorProto.INT8 for t in onnx.load(str(shipped)).graph.initializer)
    assert "int8 blocks" in result.report.precision_reason


def test_int8_storage_over_the_limit_falls_back_to_fp16_storage(folder_writer):
    out, result = folder_writer(1000)
    check = result.report.int8_storage
    assert check is not None and not check.passes
    assert any("bytes >" in reason for reason in check.reasons)
    assert result.report.fp16_weights is not None and result.report.fp16_weights.passes
    initializers = onnx.load(str(out / "model.onnx")).graph.initializer
    assert not any(t.data_type == onnx.TensorProto.INT8 for t in initializers)
