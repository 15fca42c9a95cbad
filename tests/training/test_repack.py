"""Repacking an older int8-weights folder (MatMulNBits) as DequantizeLinear: same int8 logits, a choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest

from classifier.inference import Classifier
from classifier.model_config import ModelConfig
from cli.main import main
from training.export import ExportError, quantize_weights
from training.repack import check_same_int8_logits, repack_model_folder
from training.tiny import FALLBACK_TEXTS, build_tiny_model, conversations_from_texts


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(an fp32 folder, the same model as an int8-weights folder packaged the old way: MatMulNBits)."""
    root = tmp_path_factory.mktemp("repack")
    fp32 = build_tiny_model(root / "fp32", FALLBACK_TEXTS, precision="fp32")
    old = root / "old"
    shutil.copytree(fp32, old)
    quantize_weights(fp32 / "model.onnx", old / "model.onnx", min_table_rows=16)
    ModelConfig.load(fp32).model_copy(update={"precision": "int8-weights"}).save(old)
    assert ModelConfig.load(old).int8_weights_format == "matmulnbits"
    return fp32, old


def scores(folder: Path, compute: str = "auto") -> list[float]:
    convs = conversations_from_texts(FALLBACK_TEXTS)
    return [p.score for p in Classifier.load(folder, threads=1, compute=compute).classify(convs)]


def test_a_repacked_folder_scores_as_before_in_int8_and_can_choose_fp32(folders, tmp_path):
    _, old = folders
    out = tmp_path / "repacked"
    config = repack_model_folder(old, out)
    assert config.int8_weights_format == "dequantize-linear"
    assert config.model_id == ModelConfig.load(old).model_id  # nothing was retrained
    assert ModelConfig.load(out) == config
    ops = {n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node}
    assert "DequantizeLinear" in ops and "MatMulNBits" not in ops
    before = scores(old)
    assert scores(out, "int8") == before  # bit for bit
    assert scores(out, "fp32") == pytest.approx(before, abs=0.02)  # the same weights, fp32 products
    with pytest.raises(ValueError, match="computes in int8 only"):
        Classifier.load(old, compute="fp32")
    record = json.loads((out / "provenance.json").read_text())["repacked"]
    assert record["int8_weights_format"] == "dequantize-linear"
    assert record["from_onnx_sha256"] != record["onnx_sha256"]


def test_the_repacked_card_keeps_the_original_and_says_what_changed(folders, tmp_path):
    carded = tmp_path / "carded"
    shutil.copytree(folders[1], carded)
    original = "# Model card\n\n- Precision shipped: **int8-weights** (per-row activation quantisation)\n"
    (carded / "MODEL_CARD.md").write_text(original)
    repack_model_folder(carded, tmp_path / "out")
    card = (tmp_path / "out" / "MODEL_CARD.md").read_text()
    assert card.startswith(original)
    assert "## Repacked: the runtime chooses its arithmetic" in card and "not retrained" in card


def test_folders_with_nothing_to_repack_and_occupied_targets_are_refused(folders, tmp_path):
    fp32, old = folders
    with pytest.raises(ValueError, match="precision fp32; only int8-weights folders can be repacked"):
        repack_model_folder(fp32, tmp_path / "a")
    done = tmp_path / "done"
    repack_model_folder(old, done)
    with pytest.raises(ValueError, match="already dequantize-linear"):
        repack_model_folder(done, tmp_path / "b")
    with pytest.raises(ValueError, match="exists and is not an empty folder"):
        repack_model_folder(old, done)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"], "no staging folder left behind"


def test_the_check_catches_a_graph_that_computes_differently(folders):
    fp32, old = folders
    with pytest.raises(ExportError, match="int8 logits differ"):
        check_same_int8_logits(old / "model.onnx", fp32 / "model.onnx", pad_id=0, vocab_size=50)


def test_the_command_writes_the_folder(folders, tmp_path, capsys):
    _, old = folders
    out = tmp_path / "cli"
    assert main(["repack", str(old), "--out", str(out)]) == 0
    assert "int8-weights as dequantize-linear" in capsys.readouterr().out
    assert main(["repack", str(old), "--out", str(out)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
