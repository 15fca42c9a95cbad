"""Speed against fidelity of every precision and runtime for one trained model, measured in one run.

    python -m benchmarks.bench_precision [--model models/default] [--checkpoint runs/<id>] [--flows 1000]

The batch and serving targets ask for speed at (almost) the fp32 model's decisions, so this benchmark puts
both on one table. It scores the same validation flows (``data/generated/validation.jsonl.gz``) with:

- the exported fp32 graph (the training run's, from ``--checkpoint``; on a clean clone, where runs/ is
  empty, the fp32-compute graph of the shipped int8-weights file, rebuilt from its dequantised weights by
  ``training.export.dequantize_weights``) and the same graph fused by
  ``onnxruntime.transformers.optimizer`` (Attention, SkipLayerNorm, BiasGelu);
- weight-only int8 (the shipped recipe, blocks of 32): with int8 products, and with fp32 products (the
  weights as DequantizeLinear, dequantised at load: what ``compute auto`` picks on CPUs without int8 dot
  products); and blocks of 128;
- dynamic int8 on the fused graph (QAttention, DynamicQuantizeMatMul): per tensor, per channel, and per
  channel with the FFN down-projections kept fp32; one window per call, as int8 is scored;
- with ``--checkpoint``'s torch scorer: torch fp32 one conversation per call (what a ``transformers``
  pipeline does: the baseline of the targets), torch fp32 in length-sorted batches, and torch bf16
  autocast in length-sorted batches.

For each: conversations/s and model tokens/s through the shipped inference code, the effective GFLOP/s
(the model's multiply-adds x 2 over the windows' real tokens, padding excluded), the speed-up over the
pipeline-style baseline, and the agreement with the fp32 graph under the packaging rule
(``training.package.DecisionAgreementRule``: label agreement and macro-F1 loss). Writes
``benchmarks/results/precision.md`` and ``precision.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from classifier.compute import Compute
    from classifier.model_config import ModelConfig

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
FLOWS = REPO / "data" / "generated" / "validation.jsonl.gz"


def load_flows(path: Path, n: int) -> list[Any]:
    from classifier.schema import parse_conversation

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()][:n]
    return [parse_conversation(json.loads(line)) for line in lines]


# -- graphs ----------------------------------------------------------------------------------------------


def fuse(fp32: Path, out: Path) -> Path:
    """The fp32 graph with onnxruntime's BERT fusions (heads and hidden size read from the graph)."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(str(fp32), model_type="bert", num_heads=0, hidden_size=0, opt_level=0)
    model.save_model_to_file(str(out))
    return out


def model_macs(fp32: Path) -> tuple[int, int, int]:
    """(multiply-adds per token of the weight MatMuls, layers, hidden size) of an exported fp32 graph."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(fp32))
    shapes = {t.name: tuple(numpy_helper.to_array(t).shape) for t in model.graph.initializer}
    matmuls = [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in shapes]
    per_token = sum(int(np.prod(shapes[n.input[1]])) for n in matmuls)
    queries = [n for n in matmuls if re.search(r"attention/self/query/MatMul$", n.name)]
    hidden = shapes[queries[0].input[1]][0] if queries else 0
    return per_token, len(queries), hidden


def window_flops(lengths: Sequence[int], macs: tuple[int, int, int]) -> float:
    """2 x multiply-adds: weight MatMuls per token, plus QK^T and AV per layer (L^2 x hidden each)."""
    per_token, layers, hidden = macs
    return float(sum(2 * (n * per_token + 2 * layers * n * n * hidden) for n in lengths))


# -- scoring ---------------------------------------------------------------------------------------------


def onnx_scorer(
    path: Path, precision: str, model_dir: Path, threads: int, compute: Compute | None = None
) -> Callable[[list], np.ndarray]:
    """Flow logits through ``training.package.score_flows`` (int8 products for quantised graphs unless
    ``compute`` says otherwise)."""
    from tokenizers import Tokenizer

    from classifier.model_config import ModelConfig
    from training.package import config_update, flow_array, score_flows

    config = ModelConfig.load(model_dir).model_copy(update=config_update(precision))
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    return lambda convs: flow_array(score_flows(path, config, tokenizer, convs, threads, compute)[0])


def torch_scorer(
    scorer_dir: Path, model_dir: Path, threads: int, *, batched: bool, bf16: bool
) -> Callable[[list], np.ndarray]:
    """The training run's torch scorer through ``Classifier`` (``training.torch_backend``): in the
    scoring path's length-sorted batches of 16, or one conversation per call (pipeline-style)."""
    import torch

    from benchmarks.common import pipeline_style_logits
    from training.package import flow_array
    from training.torch_backend import load_torch_classifier

    torch.set_num_threads(threads)
    clf = load_torch_classifier(scorer_dir, model_dir, bf16=bf16)

    def score(convs: list) -> np.ndarray:
        return flow_array(clf.turn_logits_many(convs) if batched else pipeline_style_logits(clf, convs))

    return score


def timed(score: Callable[[list], np.ndarray], convs: list) -> tuple[np.ndarray, float]:
    score(convs[:2])  # warm-up: first runs allocate
    start = time.perf_counter()
    logits = score(convs)
    return logits, time.perf_counter() - start


# -- the run ---------------------------------------------------------------------------------------------


def reference_graph(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The fp32 graph every row is compared with, and where it came from: the training run's own
    export, or (on a clean clone, where runs/ is empty) the fp32-compute graph of the shipped
    int8-weights file, rebuilt from its dequantised weights."""
    from classifier.model_config import ModelConfig
    from training.export import dequantize_weights

    fp32 = args.checkpoint / "model.fp32.onnx"
    if fp32.is_file():
        return fp32, f"the training run's fp32 export ({fp32.relative_to(fp32.parents[2])})"
    if ModelConfig.load(args.model).precision != "int8-weights":
        raise SystemExit(
            f"{fp32} not found, and the shipped graph is not int8-weights (whose fp32 graph can be rebuilt): "
            "--checkpoint must be the training run folder (runs/<model id>)"
        )
    rebuilt = dequantize_weights(args.model / "model.onnx", work / "fp32-from-shipped.onnx")
    return rebuilt, (
        "rebuilt from the shipped int8-weights file (its dequantised weights in fp32 MatMuls; no training "
        "run checkpoint here): the shipped weights' fp32 compute, not the run's unrounded weights"
    )


def methods(
    args: argparse.Namespace, work: Path, fp32: Path, config: ModelConfig
) -> list[tuple[str, str, Callable[[], Callable]]]:
    """(name, notes, factory of a scorer); graphs are built lazily, inside the run."""
    from classifier.compute import DEQUANTIZE_LINEAR
    from training.export import as_dequantize_linear, quantize_int8, quantize_weights
    from training.package import FFN_DOWN_PROJECTIONS

    fused = work / "fused.onnx"
    m, t = args.model, args.threads
    shipped = m / "model.onnx"
    shipped_form = config.int8_weights_format

    def graph(
        build: Callable[[], Path], precision: str, compute: Compute | None = None
    ) -> Callable[[], Callable]:
        return lambda: onnx_scorer(build(), precision, m, t, compute)

    def fused_graph() -> Path:
        return fused if fused.exists() else fuse(fp32, fused)

    def dequantize_linear_form() -> Path:
        """The shipped weights as DequantizeLinear blocks (what packaging ships since 2026-12-08)."""
        if shipped_form == DEQUANTIZE_LINEAR:
            return shipped
        return as_dequantize_linear(shipped, work / "shipped-dequantize-linear.onnx")

    rows: list[tuple[str, str, Callable[[], Callable]]] = [
        ("onnxruntime fp32", "exported graph, batches of 16", graph(lambda: fp32, "fp32")),
        ("onnxruntime fp32 fused", "transformers.optimizer bert fusions", graph(fused_graph, "fp32")),
        (
            "int8-weights, blocks of 32 (shipped), int8 products",
            f"{shipped_form} form, int8 activations per row and block (level 4), int8 embedding rows",
            graph(lambda: shipped, "int8-weights", "int8"),
        ),
        (
            "int8-weights, blocks of 32, fp32 products",
            "the shipped weights as DequantizeLinear, dequantised once at load (compute fp32)",
            graph(dequantize_linear_form, "int8-weights", "fp32"),
        ),
        (
            "int8-weights, blocks of 128",
            "same recipe, larger blocks",
            graph(lambda: quantize_weights(fp32, work / "w128.onnx", block_size=128), "int8-weights"),
        ),
        (
            "dynamic int8 per tensor, fused",
            "one window per call",
            graph(lambda: quantize_int8(fused_graph(), work / "dyn_pt.onnx", per_channel=False), "int8"),
        ),
        (
            "dynamic int8 per channel, fused",
            "one window per call",
            graph(lambda: quantize_int8(fused_graph(), work / "dyn_pc.onnx", per_channel=True), "int8"),
        ),
        (
            "dynamic int8 per channel, fused, FFN down fp32",
            "one window per call",
            graph(
                lambda: quantize_int8(
                    fused_graph(), work / "dyn_pc_ffn.onnx", per_channel=True, keep_fp32=FFN_DOWN_PROJECTIONS
                ),
                "int8",
            ),
        ),
    ]
    scorer = args.checkpoint / "scorer"
    if scorer.is_dir():
        rows += [
            (
                "torch fp32, one conversation per call",
                "pipeline-style: the targets' baseline",
                lambda: torch_scorer(scorer, m, t, batched=False, bf16=False),
            ),
            (
                "torch fp32, batches of 16",
                "length-sorted",
                lambda: torch_scorer(scorer, m, t, batched=True, bf16=False),
            ),
            (
                "torch bf16 autocast, batches of 16",
                "length-sorted",
                lambda: torch_scorer(scorer, m, t, batched=True, bf16=True),
            ),
        ]
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    from classifier.compute import DEQUANTIZE_LINEAR, choose_compute, cpu_features
    from classifier.inference import Classifier
    from classifier.model_config import ModelConfig
    from training.package import DecisionAgreementRule, check_agreement

    config = ModelConfig.load(args.model)
    convs = load_flows(args.flows_file, args.flows)
    labels = np.array([int(c.label == "general_assistance") for c in convs])
    clf = Classifier.load(args.model)
    lengths = [len(w) for ws in clf.encoder.encode_many(convs) for w in ws]
    tokens = sum(lengths)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results: list[dict[str, Any]] = []
    reference: np.ndarray | None = None
    with tempfile.TemporaryDirectory(prefix="bench-precision-") as tmp:
        fp32, fp32_source = reference_graph(args, Path(tmp))
        flops = window_flops(lengths, model_macs(fp32))
        for name, notes, factory in methods(args, Path(tmp), fp32, config):
            print(f"[bench-precision] {name} ...", flush=True)
            logits, seconds = timed(factory(), convs)
            if reference is None:
                reference = logits  # the first row is the fp32 graph
            check = check_agreement(
                reference, logits, labels, config.calibration, config.threshold, DecisionAgreementRule()
            )
            results.append({
                "name": name,
                "notes": notes,
                "seconds": seconds,
                "conversations_per_s": len(convs) / seconds,
                "tokens_per_s": tokens / seconds,
                "gflops_per_s": flops / seconds / 1e9,
                "label_agreement": check.label_agreement,
                "macro_f1": check.macro_f1_int8,
                "macro_f1_loss_points": check.macro_f1_loss_points,
                "mean_abs_flow_logit_diff": check.mean_abs_flow_logit_diff,
                "passes_rule": check.passes,
            })  # fmt: skip
            print(f"  {results[-1]['conversations_per_s']:.1f} conv/s, agreement {check.label_agreement:.4f}")
    import onnxruntime

    features = cpu_features()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "cpu_flags": sorted(
                (features or frozenset())
                & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8"}
            ),
            # what "auto" multiplies in on this CPU for a model packaged as DequantizeLinear
            "auto_compute": choose_compute(
                "auto", precision="int8-weights", weights_format=DEQUANTIZE_LINEAR, features=features
            ),
            "load_before": load_before,
            "onnxruntime": onnxruntime.__version__,
        },
        "model": {"id": config.model_id, "precision": config.precision},
        "reference": fp32_source,
        "flows": {
            "file": str(args.flows_file.relative_to(REPO)),
            "n": len(convs),
            "windows": len(lengths),
            "tokens": tokens,
            "gflop": flops / 1e9,
        },
        "threads": args.threads,
        "rule": {
            "min_label_agreement": DecisionAgreementRule().min_label_agreement,
            "max_macro_f1_loss_points": DecisionAgreementRule().max_macro_f1_loss_points,
        },
        "methods": results,
    }


def write_results(res: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "precision.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    base = next((r for r in res["methods"] if r["name"].startswith("torch fp32, one conversation")), None)
    rule = res["rule"]
    lines = [
        "# Precision and runtime benchmark: speed against fidelity",
        "",
        f"Run {res['date']} on {res['machine']['cpus']} CPUs ({res['machine']['processor']}; flags "
        f"{', '.join(res['machine']['cpu_flags']) or 'none of interest'}), {res['threads']} threads, load "
        f"average before {res['machine']['load_before']}; onnxruntime {res['machine']['onnxruntime']}"
        + (
            f"; `--compute auto` multiplies DequantizeLinear int8-weights in {auto} here."
            if (auto := res["machine"].get("auto_compute"))
            else "."
        ),
        f"Model `{res['model']['id']}` (shipped as {res['model']['precision']}). "
        f"{res['flows']['n']} flows of `{res['flows']['file']}`: {res['flows']['windows']} windows, "
        f"{res['flows']['tokens']} tokens, {res['flows']['gflop']:.0f} GFLOP.",
        "",
        f"Agreement is with the fp32 graph (first row: {res.get('reference', 'the training run export')}); "
        f"the packaging rule needs label agreement >= "
        f"{rule['min_label_agreement']} and macro-F1 loss <= {rule['max_macro_f1_loss_points']} points.",
        "",
        "| method | conv/s | tokens/s | GFLOP/s | x pipeline-style | label agreement | macro-F1 "
        "| loss (points) | mean logit change | rule | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in res["methods"]:
        ratio = f"{r['conversations_per_s'] / base['conversations_per_s']:.2f}" if base else "–"
        lines.append(
            f"| {r['name']} | {r['conversations_per_s']:.1f} | {r['tokens_per_s']:,.0f} "
            f"| {r['gflops_per_s']:.0f} | {ratio} | {r['label_agreement']:.4f} | {r['macro_f1']:.2f} "
            f"| {r['macro_f1_loss_points']:+.2f} | {r['mean_abs_flow_logit_diff']:.3f} "
            f"| {'passes' if r['passes_rule'] else 'fails'} | {r['notes']} |"
        )
    lines += [
        "",
        "GFLOP/s counts 2 x multiply-adds of the weight MatMuls and of attention over the real tokens "
        "(padding excluded), so rows compare as work done per second.",
        "",
    ]
    (out / "precision.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", type=Path, default=REPO / "models" / "default", help="shipped model folder"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="training run folder (model.fp32.onnx, scorer/); default runs/<model id>",
    )
    parser.add_argument("--flows", type=int, default=1000, help="validation flows to score")
    parser.add_argument("--flows-file", type=Path, default=FLOWS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the quantisers log every node
    if args.checkpoint is None:
        from classifier.model_config import ModelConfig

        args.checkpoint = REPO / "runs" / ModelConfig.load(args.model).model_id
    args.model, args.checkpoint, args.flows_file = (
        p.resolve() for p in (args.model, args.checkpoint, args.flows_file)
    )
    results = run(args)
    write_results(results, args.out)
    print(f"[bench-precision] wrote {args.out / 'precision.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
