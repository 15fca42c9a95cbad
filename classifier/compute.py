"""The arithmetic of a model's matrix products, chosen per CPU: int8 or fp32.

An int8-weights model packaged as DequantizeLinear blocks (``ModelConfig.int8_weights_format``) can
multiply either way: int8 products are faster where the CPU has int8 dot-product instructions, fp32 ones
elsewhere, and fp32 products are exactly the fp32 reference graph's. Pure Python (no onnxruntime), so
command-line parsers and settings can name the choices cheaply; ``classifier.backend`` applies them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

# The arithmetic of the matrix products: "int8" multiplies int8-quantised activations by int8 weights,
# "fp32" multiplies fp32 activations by fp32 weights (int8-stored weights dequantised once, at load);
# "auto" picks per CPU (``choose_compute``).
Compute = Literal["int8", "fp32"]
ComputeChoice = Literal["auto", "int8", "fp32"]
COMPUTE_CHOICES: tuple[str, ...] = get_args(ComputeChoice)
# ModelConfig.int8_weights_format of the graphs that leave the arithmetic to the runtime.
DEQUANTIZE_LINEAR = "dequantize-linear"
# CPU features with int8 dot-product instructions (x86 VNNI/AMX, Arm dotprod/i8mm). Where they are
# missing, int8 products are slower than fp32 ones: the int8-weights e5 model scored 5.9 conversations/s
# with int8 products and 9.3 with fp32 ones on an AVX2 EPYC, 1.13x faster in int8 on an AVX-512 VNNI one
# (benchmarks/results/avx2/precision.md, benchmarks/results/precision.md).
INT8_DOT_PRODUCT_FEATURES = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})

CPUINFO = Path("/proc/cpuinfo")


def cpu_features(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The feature flags of the first processor in ``/proc/cpuinfo`` (x86 "flags", Arm "Features");
    None where the file does not exist (macOS, Windows) or names none."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return None


def check_compute_choice(requested: str) -> None:
    """ValueError unless ``requested`` is one of ``COMPUTE_CHOICES``."""
    if requested not in COMPUTE_CHOICES:
        raise ValueError(f"compute must be one of {', '.join(COMPUTE_CHOICES)}, got {requested!r}")


def fixed_compute(precision: str) -> Compute:
    """The arithmetic a graph of ``precision`` runs when it leaves no choice: fp32 for fp32, else int8."""
    return "fp32" if precision == "fp32" else "int8"


def choose_compute(
    requested: str, *, precision: str, weights_format: str, features: frozenset[str] | None
) -> Compute:
    """The product arithmetic a model runs with, for a requested one of ``COMPUTE_CHOICES``.

    Only int8 weights stored as DequantizeLinear blocks leave the choice to the runtime; "auto" then takes
    int8 where the CPU has int8 dot products (or its features are unknown), else fp32. An fp32 model
    computes in fp32, dynamic int8 and MatMulNBits int8-weights graphs in int8: asking them for the
    other arithmetic is an error, not a silent fallback."""
    check_compute_choice(requested)
    if precision == "int8-weights" and weights_format == DEQUANTIZE_LINEAR:
        if requested != "auto":
            return "fp32" if requested == "fp32" else "int8"
        fast_int8 = features is None or not features.isdisjoint(INT8_DOT_PRODUCT_FEATURES)
        return "int8" if fast_int8 else "fp32"
    fixed = fixed_compute(precision)
    if requested not in ("auto", fixed):
        why = (
            "its int8 weights are MatMulNBits nodes, which fix int8 products (models packaged since "
            "int8_weights_format 'dequantize-linear' leave the choice to the runtime)"
            if precision == "int8-weights"
            else f"its precision is {precision}"
        )
        raise ValueError(f"this model computes in {fixed} only: {why}; use compute auto or {fixed}")
    return fixed
