"""Batch-scoring benchmark: throughput and peak memory of scopeguard against the alternatives.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_batch --model models/default [--torch-model DIR]
    python -m benchmarks.bench_batch                     # no real model yet: a MiniLM-sized random model

Writes ``benchmarks/results/batch.md`` and ``batch.json``. Every method runs in its own subprocess on the
same generated archive (5,000 conversations by default: mixed lengths, languages and formats of turn,
15% long multi-window sessions; built with ``examples/make_archive.py``'s material), on the same machine,
in the same run, and reports conversations/s, model tokens/s (the archive's window tokens under the
model's rendering, the same count for every method) and peak RSS (VmHWM of that subprocess; summed over
its children for --workers):

- ``scopeguard score`` (the CLI path: read, parse, render, score, write JSONL) with the shipped ONNX file,
  and with fp32 when the folder also holds ``model.fp32.onnx`` (dev mode builds both); one process with
  T intra-op threads and ``--workers 2`` with one thread each;
- a torch eager baseline: the same fine-tuned ``TurnScorer`` with the same windows through
  ``training.torch_backend``, one conversation per call, as a ``transformers`` pipeline runs by default
  (needs ``--torch-model``, a ``TurnScorer.save`` folder; dev mode saves one; otherwise the results say
  it is missing);
- the raw onnxruntime session on pre-tokenised, length-sorted windows (the ceiling: no reading, parsing
  or tokenising), one window per call and batches of 16;
- the TF-IDF + logistic regression baseline of ``training.baselines`` (fitted on ``data/generated`` train
  before timing; timing covers reading, rendering and predict_proba);
- memory flatness: ``scopeguard score`` on the first 1,000 vs all conversations, peak RSS compared.

Times exclude imports and model loading (reported separately as load seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
MIN_CONVERSATIONS = 5000
FP32_FILE = "model.fp32.onnx"
LONG_SHARE = 0.15
DEV_NOTES = {
    "tiny": "random weights, tiny test size (2 layers, hidden 32): overheads dominate; not representative",
    "minilm": "random weights, MiniLM-L6 size (6 layers, hidden 384): speed representative, scores not",
}
MINILM_SIZE = {
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
}


# -- the archive -----------------------------------------------------------------------------------------


def _make_archive_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_archive", REPO / "examples" / "make_archive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_archive(path: Path, n: int, seed: int = 0) -> None:
    """``n`` schema-v1 conversations; LONG_SHARE of them long sessions of 3-5 joined conversations."""
    import random

    ma = _make_archive_module()
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            business = rng.choice(ma.BUSINESSES)
            conv = ma.build_conversation(rng, i, business)
            if rng.random() < LONG_SHARE:
                for _ in range(rng.randint(2, 4)):
                    conv["turns"] += ma.build_conversation(rng, i, business)["turns"]
                    conv["label"] = conv["label"] if conv["label"] == "general_assistance" else None
            conv = {k: v for k, v in conv.items() if v is not None}
            handle.write(json.dumps(conv, ensure_ascii=False) + "\n")


def head(path: Path, out: Path, n: int) -> None:
    with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for _, line in zip(range(n), src, strict=False):
            dst.write(line)


# -- dev model -------------------------------------------------------------------------------------------


def build_dev_models(work: Path, size: str) -> tuple[Path, Path, Path]:
    """A random TurnScorer of ``size``: (int8 folder with model.fp32.onnx beside, fp32 folder, torch dir)."""
    import torch

    import training.tiny as tiny
    from classifier.model_config import BaseModelInfo, special_tokens_of
    from classifier.render import RenderConfig, render_turn
    from training.model import TurnScorer
    from training.package import write_model_folder

    ma = _make_archive_module()
    import random

    rng = random.Random(1)
    texts = [
        t["text"]
        for i in range(300)
        for t in ma.build_conversation(rng, i, rng.choice(ma.BUSINESSES))["turns"]
    ]
    tokenizer = tiny.train_tokenizer([render_turn("user", t) for t in texts], vocab_size=8000)
    config = tiny.tiny_encoder_config(tokenizer.get_vocab_size())
    if size == "minilm":
        for key, value in MINILM_SIZE.items():
            setattr(config, key, value)
    torch.manual_seed(0)
    model = TurnScorer.from_config(config).eval()
    torch_dir = work / "torch"
    model.save(torch_dir)
    tokenizer.save(str(torch_dir / "tokenizer.json"))
    folders = {}
    for precision in ("int8", "fp32"):
        folders[precision] = work / precision
        write_model_folder(
            folders[precision],
            model=model,
            tokenizer=tokenizer,
            render=RenderConfig(),
            special_tokens=special_tokens_of(tokenizer),
            base_model=BaseModelInfo(name="random-minilm-size-bert", package="scopeguard", version=None),
            model_name=f"bench-{size}-random",
            check_convs=tiny.conversations_from_texts(texts[:200]),
            precision=precision,
            selection_flows=40,
        )
    shutil.copyfile(folders["fp32"] / "model.onnx", folders["int8"] / FP32_FILE)
    return folders["int8"], folders["fp32"], torch_dir


def fp32_folder_of(model_dir: Path, work: Path, fp32_file: Path | None = None) -> Path | None:
    """A view of ``model_dir`` on its fp32 graph: ``fp32_file`` or the folder's ``model.fp32.onnx``."""
    from classifier.model_config import ModelConfig

    config = ModelConfig.load(model_dir)
    if config.precision == "fp32":
        return model_dir
    fp32_file = fp32_file or model_dir / FP32_FILE
    if not fp32_file.is_file():
        return None
    out = work / "fp32-view"
    out.mkdir(parents=True, exist_ok=True)
    for name, source in (("tokenizer.json", model_dir / "tokenizer.json"), (FP32_FILE, fp32_file)):
        target = out / name
        if not target.exists():
            target.symlink_to(source.resolve())
    ModelConfig.model_validate({**config.to_dict(), "onnx_file": FP32_FILE, "precision": "fp32"}).save(out)
    return out


# -- methods (each runs in a subprocess: python -m benchmarks.bench_batch --worker METHOD ...) ----------


def _read_convs(archive: Path) -> list[Any]:
    from classifier.readers import Record, read_conversations

    return [item.conversation for item in read_conversations(archive) if isinstance(item, Record)]


def method_scopeguard(args: argparse.Namespace) -> dict[str, Any]:
    from classifier.scoring import ScoreJob, run_score

    out = Path(args.work) / f"scores-{os.getpid()}.jsonl"
    job = ScoreJob(
        inputs=(str(args.archive),),
        out=out,
        model_dir=Path(args.model),
        workers=args.workers,
        threads=args.threads,
    )
    start = time.perf_counter()
    summary = run_score(job, err=open(os.devnull, "w"))  # noqa: SIM115
    seconds = time.perf_counter() - start
    return {"conversations": summary.scored, "seconds": seconds, "load_seconds": None}


def method_raw_ort(args: argparse.Namespace) -> dict[str, Any]:
    from classifier.inference import Classifier

    start = time.perf_counter()
    clf = Classifier.load(args.model, threads=args.threads)
    load = time.perf_counter() - start
    convs = _read_convs(Path(args.archive))
    windows = sorted((w for ws in clf.encoder.encode_many(convs) for w in ws), key=len, reverse=True)
    size = args.batch_size
    start = time.perf_counter()
    for i in range(0, len(windows), size):
        clf.token_logits(windows[i : i + size])
    seconds = time.perf_counter() - start
    return {"conversations": len(convs), "seconds": seconds, "load_seconds": load}


def method_torch(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from benchmarks.common import pipeline_style_logits
    from training.torch_backend import load_torch_classifier

    torch.set_num_threads(args.threads or 1)
    start = time.perf_counter()
    clf = load_torch_classifier(args.torch_model, args.model)
    load = time.perf_counter() - start
    start = time.perf_counter()
    convs = _read_convs(Path(args.archive))
    pipeline_style_logits(clf, convs)
    seconds = time.perf_counter() - start
    return {"conversations": len(convs), "seconds": seconds, "load_seconds": load}


def method_tfidf(args: argparse.Namespace) -> dict[str, Any]:
    from classifier.readers import Record, read_conversations
    from classifier.render import render_text
    from training.baselines import fit_tfidf_baseline

    train_file = REPO / "data" / "generated" / "train.jsonl.gz"
    start = time.perf_counter()
    train = [i.conversation for i in read_conversations(train_file) if isinstance(i, Record)]
    pipeline = fit_tfidf_baseline(train)
    load = time.perf_counter() - start
    start = time.perf_counter()
    convs = _read_convs(Path(args.archive))
    pipeline.predict_proba([render_text(c) for c in convs])
    seconds = time.perf_counter() - start
    return {"conversations": len(convs), "seconds": seconds, "load_seconds": load}


METHODS = {
    "scopeguard": method_scopeguard,
    "raw-ort": method_raw_ort,
    "torch": method_torch,
    "tfidf": method_tfidf,
}


def _status_kb(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children() -> list[str]:
    pids: list[str] = []
    for task in Path("/proc/self/task").glob("*"):
        with contextlib.suppress(OSError):  # the task may have ended meanwhile
            pids += (task / "children").read_text().split()
    return pids


class TreeRssSampler:
    """Peak of (this process + its children) resident memory, sampled every ``interval`` seconds.

    ``ru_maxrss`` cannot be used here: Linux carries a parent's high-water mark into a child across
    fork and exec, so every subprocess of a big parent would report the parent's peak.
    """

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = _status_kb("self", "VmRSS") + sum(_status_kb(pid, "VmRSS") for pid in _children())
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_main(args: argparse.Namespace) -> None:
    with TreeRssSampler() as sampler:
        result = METHODS[args.worker](args)
    own_peak_kb = _status_kb("self", "VmHWM")  # exact peak of this process's own memory since exec
    result["peak_rss_mb"] = max(own_peak_kb, sampler.peak_kb) / 1024
    print("RESULT " + json.dumps(result))


def run_method(
    name: str,
    method: str,
    archive: Path,
    work: Path,
    *,
    model: Path,
    threads: int | None,
    workers: int = 1,
    batch_size: int = 1,
    torch_model: Path | None = None,
) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "benchmarks.bench_batch",
        "--worker",
        method,
        "--archive",
        str(archive),
        "--work",
        str(work),
        "--model",
        str(model),
        "--workers",
        str(workers),
        "--batch-size",
        str(batch_size),
    ]
    if threads:
        argv += ["--threads", str(threads)]
    if torch_model:
        argv += ["--torch-model", str(torch_model)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads or 1), "TOKENIZERS_PARALLELISM": "false"}
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        return {"name": name, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result = json.loads(lines[-1][len("RESULT ") :])
    result["name"] = name
    print(
        f"bench: {name}: {result['conversations'] / result['seconds']:.1f} conv/s, "
        f"{result['peak_rss_mb']:.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    return result


# -- report ----------------------------------------------------------------------------------------------


def count_tokens(model: Path, archive: Path) -> tuple[int, int, int]:
    """(conversations, windows, window tokens) of the archive under the model's rendering."""
    from classifier.inference import Classifier

    clf = Classifier.load(model, threads=1)
    convs = _read_convs(archive)
    windows = [w for ws in clf.encoder.encode_many(convs) for w in ws]
    return len(convs), len(windows), sum(len(w) for w in windows)


def write_results(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tokens = results["archive"]["tokens"]
    lines = [
        "# Batch scoring benchmark",
        "",
        f"Run {results['date']} on {results['machine']['cpus']} CPUs ({results['machine']['processor']}), "
        f"load average before the run {results['machine']['load_before']}; onnxruntime "
        f"{results['machine']['onnxruntime']}, Python {results['machine']['python']}.",
        f"Model: `{results['model']['id']}` ({results['model']['precision']}, {results['model']['note']}).",
        f"Archive: {results['archive']['conversations']} conversations, "
        f"{results['archive']['windows']} windows, "
        f"{tokens} model tokens (mean {tokens / results['archive']['conversations']:.0f} per conversation; "
        f"{LONG_SHARE:.0%} long multi-window sessions).",
        "",
        "| method | conversations/s | tokens/s | peak RSS (MB) | load s | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results["methods"]:
        if "error" in r:
            lines.append(f"| {r['name']} | – | – | – | – | not run: {r['error']} |")
            continue
        rate = r["conversations"] / r["seconds"]
        load = f"{r['load_seconds']:.1f}" if r.get("load_seconds") is not None else "incl."
        lines.append(
            f"| {r['name']} | {rate:,.1f} | {tokens / r['seconds']:,.0f} | {r['peak_rss_mb']:,.0f} | "
            f"{load} | "
            f"{r.get('note', '')} |"
        )
    flat = results.get("memory")
    if flat:
        lines += [
            "",
            "## Memory in archive size",
            "",
            f"`scopeguard score` peak RSS: {flat['small_n']} conversations {flat['small_mb']:.0f} MB, "
            f"{flat['large_n']} conversations {flat['large_mb']:.0f} MB "
            f"(difference {flat['large_mb'] - flat['small_mb']:+.0f} MB).",
            "",
        ]
    lines += ["", "Notes:", *[f"- {note}" for note in results["notes"]], ""]
    (out / "batch.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model folder (default: build a MiniLM-sized random one)")
    parser.add_argument(
        "--torch-model", type=Path, help="TurnScorer.save folder of the same fine-tuned model"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="the training run's <checkpoint_dir>/<model id>/ folder: its scorer/ is the torch model and "
        "its model.fp32.onnx the fp32 graph (sets --torch-model)",
    )
    parser.add_argument(
        "--dev-size",
        choices=sorted(DEV_NOTES),
        default="minilm",
        help="without --model: size of the random model built for the run (default minilm)",
    )
    parser.add_argument("--n", type=int, default=MIN_CONVERSATIONS)
    parser.add_argument("--small", type=int, default=1000, help="archive size of the memory comparison")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of the one-process runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(METHODS), help="methods to leave out")
    parser.add_argument(
        "--core",
        action="store_true",
        help="only the rows the targets need (shipped model, its raw session at scoring's batch size, torch, "
        "TF-IDF, memory): leaves out --workers 2, the fp32 file and other batch sizes",
    )
    # worker mode (internal)
    parser.add_argument("--worker", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    if args.n < MIN_CONVERSATIONS:
        print(
            f"bench: warning: --n {args.n} is below the {MIN_CONVERSATIONS} the benchmark is specified for",
            file=sys.stderr,
        )
    notes: list[str] = []
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="sg-bench-") as tmp:
        work = Path(tmp)
        fp32: Path | None
        if args.model is None:
            print(
                f"bench: building a {args.dev_size} random model (no --model) ...",
                file=sys.stderr,
                flush=True,
            )
            model, fp32, torch_model = build_dev_models(work / "model", args.dev_size)
            note = DEV_NOTES[args.dev_size]
            notes.append(
                f"No trained model was given: a randomly initialised {args.dev_size}-sized TurnScorer was "
                "exported through training.package.write_model_folder (int8 and fp32). Rerun with "
                "--model models/default (and --torch-model) for the shipped model."
            )
        else:
            model, torch_model = args.model, args.torch_model
            checkpoint_fp32: Path | None = None
            if args.checkpoint is not None:
                torch_model = torch_model or args.checkpoint / "scorer"
                checkpoint_fp32 = args.checkpoint / FP32_FILE
            fp32 = fp32_folder_of(model, work, checkpoint_fp32)
            note = "shipped model folder"
            if fp32 is None:
                notes.append(
                    f"{model} holds no {FP32_FILE}: the fp32 row is missing (export keeps only the "
                    "shipped precision); copy the fp32 export there to compare."
                )
            if torch_model is None:
                notes.append(
                    "No --torch-model (a TurnScorer.save folder of the fine-tuned model): the torch "
                    "eager baseline was not run. The training run does not save the torch checkpoint "
                    "in the model folder."
                )
        from classifier.model_config import ModelConfig

        config = ModelConfig.load(model)
        archive = work / "archive.jsonl"
        small = work / "archive-small.jsonl"
        build_archive(archive, args.n)
        head(archive, small, args.small)
        n_convs, n_windows, n_tokens = count_tokens(model, archive)
        t = args.threads
        runs: list[dict[str, Any]] = []

        def add(result: dict[str, Any], note_text: str = "") -> None:
            result["note"] = note_text
            runs.append(result)

        if "scopeguard" not in args.skip:
            add(
                run_method(
                    f"scopeguard score ({config.precision}, 1 process x {t} thread)",
                    "scopeguard",
                    archive,
                    work,
                    model=model,
                    threads=t,
                ),
                "CLI path incl. reading, parsing, writing",
            )
            if t == 1 and (os.cpu_count() or 1) >= 2:
                add(
                    run_method(
                        f"scopeguard score ({config.precision}, 1 process x 2 threads)",
                        "scopeguard",
                        archive,
                        work,
                        model=model,
                        threads=2,
                    ),
                    "intra-op threads",
                )
            if not args.core:
                add(
                    run_method(
                        f"scopeguard score ({config.precision}, --workers 2 x 1 thread)",
                        "scopeguard",
                        archive,
                        work,
                        model=model,
                        threads=1,
                        workers=2,
                    ),
                    "two processes; RSS summed over the process tree",
                )
            if fp32 is not None and fp32 != model and not args.core:
                add(
                    run_method(
                        f"scopeguard score (fp32, 1 process x {t} thread)",
                        "scopeguard",
                        archive,
                        work,
                        model=fp32,
                        threads=t,
                    ),
                    "fp32 ONNX file, batches of 16",
                )
        if "raw-ort" not in args.skip:
            from classifier.backend import exact_batch_size

            for size in (exact_batch_size(config.precision),) if args.core else (1, 16):
                add(
                    run_method(
                        f"raw onnxruntime session ({config.precision}, batch {size})",
                        "raw-ort",
                        archive,
                        work,
                        model=model,
                        threads=t,
                        batch_size=size,
                    ),
                    "pre-tokenised windows, length-sorted; no reading/parsing/tokenising",
                )
        if "torch" not in args.skip:
            if torch_model is not None:
                add(
                    run_method(
                        f"torch eager, pipeline-style ({t} thread)",
                        "torch",
                        archive,
                        work,
                        model=model,
                        threads=t,
                        torch_model=torch_model,
                    ),
                    "same TurnScorer weights and windows, one conversation per call",
                )
            else:
                add({"name": "torch eager, pipeline-style", "error": "torch checkpoint not available"})
        if "tfidf" not in args.skip:
            add(
                run_method("TF-IDF + logistic regression", "tfidf", archive, work, model=model, threads=t),
                "training.baselines, fitted on data/generated train (not timed)",
            )
        memory = None
        if "scopeguard" not in args.skip:
            small_run = run_method(
                f"scopeguard score, {args.small} conversations",
                "scopeguard",
                small,
                work,
                model=model,
                threads=t,
            )
            large = runs[0]
            if "error" not in small_run and "error" not in large:
                memory = {
                    "small_n": args.small,
                    "small_mb": small_run["peak_rss_mb"],
                    "large_n": n_convs,
                    "large_mb": large["peak_rss_mb"],
                }
    import onnxruntime

    notes.append(
        "conversations/s and tokens/s use the same archive; tokens = window tokens under the model's "
        "rendering (special and context tokens included), the same count for every method."
    )
    notes.append(
        "Each method ran in its own subprocess; peak RSS is that process's VmHWM, or for several "
        "processes the peak of their summed RSS sampled every 0.2 s (imports included: torch alone "
        "costs several hundred MB)."
    )
    if config.precision == "int8":
        notes.append(
            "int8 scoring runs one window per onnxruntime call by default so scores do not depend on "
            "batch-mates (dynamic quantisation); compare the raw session rows for what batching buys."
        )
    elif config.precision == "int8-weights":
        notes.append(
            "int8-weights (weight-only int8, activations quantised per row) is batch-invariant: scoring "
            "uses batches of 16 windows, like fp32."
        )
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "load_before": load_before,
            "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(),
        },
        "model": {"id": config.model_id, "precision": config.precision, "note": note},
        "archive": {"conversations": n_convs, "windows": n_windows, "tokens": n_tokens},
        "threads": t,
        "methods": runs,
        "memory": memory,
        "notes": notes,
    }
    write_results(results, args.out)
    print(f"bench: wrote {args.out / 'batch.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
