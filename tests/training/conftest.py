"""Synthetic labelled data, a manifest, a tiny base encoder and a tiny training config for training tests."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path

import pytest

BUSINESS = [
    ("where is my order {n}?", "Your order {n} ships today and arrives on Friday."),
    ("i want to return the shoes", "Sure, here is your return label for order {n}, valid 30 days."),
    ("can i change my delivery address", "Yes, send me the new address and I will update order {n}."),
    ("my card was charged twice", "Sorry about that, I refunded the duplicate charge on order {n}."),
]
GENERAL = [
    ("write me a poem about the sea", "Waves of silver, gulls that cry, the harbour sleeps beneath the sky."),
    (
        "solve 3x + 5 = {n} for my homework",
        "Subtract 5 from both sides, then divide by 3: x = ({n} - 5) / 3.",
    ),
    (
        "write python code to sort a list",
        "Use sorted(items) or items.sort(); for reverse order pass reverse=True.",
    ),
    ("translate good morning to french", "Good morning in French is bonjour."),
]
DEFLECT = "Sorry, I can only help with orders, deliveries and returns. Anything about your order?"


def _conversation(i: int, kind: str, rng: random.Random) -> dict:
    n = rng.randint(1000, 9999)
    b_user, b_bot = rng.choice(BUSINESS)
    g_user, g_bot = rng.choice(GENERAL)
    meta: dict = {"domain": rng.choice(["fashion", "bank"]), "category": kind, "source": "synthetic"}
    turns = [{"role": "user", "text": b_user.format(n=n)}, {"role": "assistant", "text": b_bot.format(n=n)}]
    label = "business_support"
    if kind == "embedded":
        turns += [
            {"role": "user", "text": g_user.format(n=n)},
            {"role": "assistant", "text": g_bot.format(n=n)},
        ]
        meta.update(general_turns=[3], general_requests=[2])
        label = "general_assistance"
    elif kind == "unannotated":  # general flow without general_turns: learnt through the MIL loss
        turns = [
            {"role": "user", "text": g_user.format(n=n)},
            {"role": "assistant", "text": g_bot.format(n=n)},
        ]
        label = "general_assistance"
    elif kind == "deflection":
        turns += [{"role": "user", "text": g_user.format(n=n)}, {"role": "assistant", "text": DEFLECT}]
        meta.update(general_turns=[], general_requests=[2])
    elif kind == "lone_general":
        turns = [{"role": "user", "text": g_user.format(n=n)}]
        meta.update(general_requests=[0])
        label = "general_assistance"
    elif kind == "lone_business":
        turns = [{"role": "user", "text": b_user.format(n=n)}]
    if rng.random() < 0.3:
        turns.insert(0, {"role": "system", "text": "You are the support bot of an online shop."})
        for key in ("general_turns", "general_requests"):
            if key in meta:
                meta[key] = [t + 1 for t in meta[key]]
    return {
        "id": f"syn-{i:04d}",
        "turns": turns,
        "label": label,
        "lang": rng.choice(["en", "de"]),
        "meta": meta,
    }


KINDS = ("business", "embedded", "unannotated", "deflection", "lone_general", "lone_business")


def synthetic_conversations(count: int, start: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [_conversation(start + k, KINDS[k % len(KINDS)], rng) for k in range(count)]


def write_jsonl_gz(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(data)
    return path


def write_manifest(root: Path, files: dict[str, Path], *, exclusive: bool = True) -> Path:
    entries = [
        {
            "path": path.relative_to(root).as_posix(),
            "split": split,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "provenance": {"exclusive_use": exclusive},
        }
        for split, path in files.items()
    ]
    manifest = root / "data" / "manifest.json"
    manifest.write_text(json.dumps({"manifest_version": 1, "files": entries}))
    return manifest


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo-like folder with data/{train,validation,test}.jsonl.gz and data/manifest.json."""
    root = tmp_path_factory.mktemp("repo")
    files = {
        "train": write_jsonl_gz(root / "data" / "train.jsonl.gz", synthetic_conversations(72, 0, 1)),
        "validation": write_jsonl_gz(
            root / "data" / "validation.jsonl.gz", synthetic_conversations(36, 100, 2)
        ),
        "test": write_jsonl_gz(root / "data" / "test.jsonl.gz", synthetic_conversations(36, 200, 3)),
    }
    write_manifest(root, files)
    return root


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, synthetic_data: Path) -> Path:
    """A random tiny BERT in transformers format with a vocabulary of the synthetic data."""
    from training.tiny import build_tiny_base

    texts = [t["text"] for r in synthetic_conversations(72, 0, 1) for t in r["turns"]]
    return build_tiny_base(tmp_path_factory.mktemp("tiny_base"), texts, seed=0)


def make_tiny_train_config(root: Path, base: Path, out: Path, **overrides):
    from training.config import TrainConfig

    data = {
        "manifest": root / "data" / "manifest.json",
        "train_splits": ["train"],
        "validation_splits": ["validation"],
        "test_splits": ["test"],
        "cache_dir": out.parent / "cache",
        "realdev_dir": None,
    }
    settings = {
        "base_model": {"path": base, "short_name": "tiny"},
        "render": {"max_tokens": 64, "max_turn_tokens": 32, "turn_tail_tokens": 8, "context_tokens": 16,
                   "max_system_tokens": 8},
        "optim": {"epochs": 6, "batch_size": 8, "lr": 1e-3, "head_lr": 3e-3, "warmup_ratio": 0.1},
        "seed": 7,
        "threads": 1,
        "data": data,
        "baselines": {"zero_shot_max_flows": 20},
        "output_dir": out,
        "progress": False,
    }  # fmt: skip
    settings.update(overrides)
    return TrainConfig.model_validate(settings)


@pytest.fixture(scope="session")
def tiny_train_config():
    """Factory: ``tiny_train_config(data_root, base_dir, output_dir, **top_level_overrides)``."""
    return make_tiny_train_config


@pytest.fixture(scope="session")
def data_tools():
    """Helpers to write synthetic data files and manifests: ``conversations``, ``write_gz``, ``manifest``."""
    from types import SimpleNamespace

    return SimpleNamespace(
        conversations=synthetic_conversations, write_gz=write_jsonl_gz, manifest=write_manifest
    )
