"""The product arithmetic per CPU: feature flags read from /proc/cpuinfo, and which model may choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.compute import COMPUTE_CHOICES, choose_compute, cpu_features
from classifier.inference import Classifier

AVX2 = frozenset({"sse4_2", "avx", "avx2", "fma"})
VNNI = AVX2 | {"avx512f", "avx512_vnni"}
DQ = {"precision": "int8-weights", "weights_format": "dequantize-linear"}
NBITS = {"precision": "int8-weights", "weights_format": "matmulnbits"}


def test_x86_flags_and_arm_features_are_read_from_the_first_processor(tmp_path: Path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_vnni\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_features(x86) == {"fpu", "avx2", "avx512_vnni"}
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\nCPU implementer\t: 0x41\n")
    assert cpu_features(arm) == {"fp", "asimd", "asimddp", "i8mm"}
    none = tmp_path / "none"
    none.write_text("processor\t: 0\nmodel name\t: something\n")
    assert cpu_features(none) is None
    assert cpu_features(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("features", "expected"),
    [(VNNI, "int8"), (AVX2 | {"avx_vnni"}, "int8"), (frozenset({"asimddp"}), "int8"), (AVX2, "fp32"),
     (None, "int8")],
)  # fmt: skip
def test_auto_multiplies_in_int8_only_where_the_cpu_has_int8_dot_products(features, expected) -> None:
    assert choose_compute("auto", features=features, **DQ) == expected


def test_an_explicit_choice_wins_over_the_cpu_for_dequantize_linear_weights() -> None:
    assert choose_compute("int8", features=AVX2, **DQ) == "int8"
    assert choose_compute("fp32", features=VNNI, **DQ) == "fp32"


def test_graphs_that_fix_their_arithmetic_refuse_the_other_one() -> None:
    assert choose_compute("auto", features=AVX2, **NBITS) == "int8"
    assert choose_compute("int8", features=AVX2, **NBITS) == "int8"
    with pytest.raises(ValueError, match="int8 only: its int8 weights are MatMulNBits"):
        choose_compute("fp32", features=AVX2, **NBITS)
    fp32 = {"precision": "fp32", "weights_format": "matmulnbits"}
    assert choose_compute("auto", features=VNNI, **fp32) == "fp32"
    with pytest.raises(ValueError, match="fp32 only: its precision is fp32"):
        choose_compute("int8", features=VNNI, **fp32)
    dynamic = {"precision": "int8", "weights_format": "matmulnbits"}
    with pytest.raises(ValueError, match="int8 only: its precision is int8"):
        choose_compute("fp32", features=VNNI, **dynamic)
    with pytest.raises(ValueError, match="compute must be one of auto, int8, fp32"):
        choose_compute("bf16", features=VNNI, **DQ)
    assert COMPUTE_CHOICES == ("auto", "int8", "fp32")


def test_a_classifier_says_its_arithmetic_and_refuses_one_its_graph_lacks(tiny_model_dir: Path) -> None:
    # the tiny model is dynamic int8: its products are int8 whatever the CPU
    assert Classifier.load(tiny_model_dir, threads=1).compute == "int8"
    with pytest.raises(ValueError, match="this model computes in int8 only"):
        Classifier.load(tiny_model_dir, threads=1, compute="fp32")
