"""Fixtures for classifier tests: generated archives for batch scoring."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample.jsonl"
LANGS = ("en", "de", "es", "pt-BR")
CHANNELS = ("whatsapp", "web")


def _fixture_turns() -> list[tuple[str, str]]:
    turns = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            turns += [(t["role"], t["text"]) for t in json.loads(line)["turns"] if t["role"] != "system"]
    return turns


def make_archive(path: Path, n: int, *, seed: int = 0, bad_every: int = 0, timestamps: bool = True) -> Path:
    """A schema-v1 JSONL archive of ``n`` records (1-12 turns each, turn texts from the fixtures);
    with ``bad_every`` k, every k-th record is unusable (a turn with an unknown role)."""
    rng = random.Random(seed)
    pool = _fixture_turns()
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            size = rng.randint(1, 12)
            turns = []
            for k in range(size):
                role = "user" if k % 2 == 0 else "assistant"
                turn = {"role": role, "text": rng.choice(pool)[1]}
                if timestamps:
                    turn["ts"] = f"2026-03-{1 + i % 28:02d}T{10 + k % 10:02d}:{rng.randint(0, 59):02d}:00Z"
                turns.append(turn)
            if bad_every and i % bad_every == bad_every - 1:
                turns[0]["role"] = "bot"
            record = {
                "id": f"gen-{i:05d}",
                "turns": turns,
                "lang": LANGS[i % len(LANGS)],
                "meta": {"channel": CHANNELS[i % 2], "business": f"shop {i % 3}", "category": f"cat{i % 5}"},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def archive_factory(tmp_path: Path) -> Callable[..., Path]:
    def factory(n: int, name: str = "archive.jsonl", **kwargs: object) -> Path:
        return make_archive(tmp_path / name, n, **kwargs)  # type: ignore[arg-type]

    return factory
