"""The review loop end to end on the sample archive, small enough for 2 CPUs in a couple of minutes.

``make review-loop`` (= ``python -m benchmarks.review_loop``) runs, as processes of the real CLI:

1. ``scopeguard review pick examples/archive --n N --queue W/queue.db`` (the shipped model, or ``--model``);
2. a scripted reviewer: ``scopeguard review label`` for every pending conversation whose archive record
   carries a label (its ``meta.general_turns`` too); the rest stay pending;
3. ``scopeguard review export W/queue.db --out W/data/own`` (schema-v1 JSONL + manifest, split ``own``);
4. ``scopeguard train --config W/config.yaml``: a tiny config (random 2-layer encoder, the first records
   of each generated split as the generated data, its own manifest) whose ``data.own`` points at
   ``W/data/own/manifest.json``, so the reviewed conversations are mixed in as ``make train`` does;
5. ``scopeguard eval W/data/own --model W/model``.

Everything is written under ``W`` (default ``out/review-loop``, removed first). The pseudonym key is
``W/id-key``, so the scripted reviewer can find the archive's labels under the queue's ids.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ARCHIVE = Path("examples/archive")
GENERATED = Path("data/generated")
TINY_RECORDS = {"train": 160, "validation": 60, "test": 60}


def scopeguard(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cli", *args]
    print("$ scopeguard " + " ".join(args), flush=True)
    done = subprocess.run(cmd, env=env, text=True, capture_output=True)
    sys.stdout.write(done.stdout[-3000:])
    sys.stderr.write(done.stderr[-3000:])
    if check and done.returncode != 0:
        raise SystemExit(f"scopeguard {' '.join(args[:2])} failed ({done.returncode})")
    return done


def tiny_data(work: Path) -> Path:
    """The first records of each generated split, with a manifest of their own (the gate's minimum)."""
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    entries = []
    for split, n in TINY_RECORDS.items():
        with gzip.open(GENERATED / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
            lines = [line for _, line in zip(range(n), fh, strict=False)]
        path = data / f"{split}.jsonl"
        path.write_text("".join(lines), encoding="utf-8")
        entries.append({
            "path": path.name, "split": split, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "provenance": {"owner": "the platform operator", "origin": f"first {n} records of "
                           f"data/generated/{split}.jsonl.gz", "exclusive_use": True},
        })  # fmt: skip
    manifest = data / "manifest.json"
    manifest.write_text(json.dumps({"manifest_version": 1, "files": entries}, indent=1), encoding="utf-8")
    return manifest


def tiny_config(work: Path, manifest: Path, base: Path) -> Path:
    config = {
        "base_model": {"path": str(base), "short_name": "tiny"},
        "render": {"max_tokens": 64, "max_turn_tokens": 32, "turn_tail_tokens": 8, "context_tokens": 16,
                   "max_system_tokens": 8},
        "optim": {"epochs": 3, "batch_size": 8, "lr": 1e-3, "head_lr": 3e-3, "warmup_ratio": 0.1},
        "seed": 7,
        "threads": 2,
        "data": {"manifest": str(manifest), "train_splits": ["train"], "validation_splits": ["validation"],
                 "test_splits": ["test"], "cache_dir": str(work / "cache"), "realdev_dir": None,
                 "own": {"manifest": str(work / "data" / "own" / "manifest.json"), "weight": 2.0}},
        "baselines": {"zero_shot": False},
        "output_dir": str(work / "model"),
        "progress": False,
    }  # fmt: skip
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def archive_labels(key_file: Path) -> dict[str, dict[str, object]]:
    """The archive's own labels (and general turns) under the ids the queue stores (pseudonymised)."""
    from classifier.pseudonym import Pseudonymiser, load_key
    from classifier.readers import Record, read_conversations

    pseudo = Pseudonymiser(load_key(key_file))
    out = {}
    for item in read_conversations([ARCHIVE]):
        if isinstance(item, Record) and item.conversation.label is not None:
            conv = item.conversation
            out[pseudo.text(conv.id)] = {"label": conv.label, "general_turns": conv.meta.get("general_turns")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("out/review-loop"))
    parser.add_argument("--n", type=int, default=60, help="conversations to pick")
    parser.add_argument("--model", type=Path, default=None, help="model that picks (default: shipped)")
    args = parser.parse_args()
    start = time.perf_counter()
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "SCOPEGUARD_ID_KEY_FILE": str((work / "id-key").resolve()), "OMP_NUM_THREADS": "2"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
    queue = work / "queue.db"
    model = ["--model", str(args.model)] if args.model else []
    pick = scopeguard("review", "pick", str(ARCHIVE), "--n", str(args.n), "--queue", str(queue), *model,
                      env=env, check=False)  # fmt: skip
    if pick.returncode not in (0, 1):  # 1: the archive has invalid records (quarantined, accounted for)
        raise SystemExit("review pick failed")
    status = json.loads(scopeguard("review", "status", str(queue), "--json", env=env).stdout)
    labels = archive_labels(work / "id-key")
    for conv_id in status["pending_ids"]:
        known = labels.get(conv_id)
        if known is None:
            continue
        turns = known["general_turns"] if known["label"] == "general_assistance" else None
        extra = ["--general-turns", ",".join(map(str, turns))] if isinstance(turns, list) and turns else []
        scopeguard("review", "label", str(queue), "--id", conv_id, "--label", str(known["label"]),
                   "--reviewer", "script", *extra, env=env)  # fmt: skip
    scopeguard("review", "status", str(queue), env=env)
    scopeguard("review", "export", str(queue), "--out", str(work / "data" / "own"), env=env)
    from training.tiny import build_tiny_base

    manifest = tiny_data(work)
    texts = [json.loads(line)["turns"][0]["text"] for line in (work / "data" / "train.jsonl").open()]
    texts += [t["text"] for line in (work / "data" / "own" / "queue.jsonl").open()
              for t in json.loads(line)["turns"]]  # fmt: skip
    base = build_tiny_base(work / "base", texts, seed=0)
    config = tiny_config(work, manifest, base)
    scopeguard("train", "--config", str(config), env=env)
    scopeguard("eval", str(work / "data" / "own"), "--model", str(work / "model"), env=env, check=False)
    print(f"review loop done in {time.perf_counter() - start:.0f} s: {work}")


if __name__ == "__main__":
    main()
