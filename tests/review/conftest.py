"""An archive of small conversations in four languages and two channels, and queues picked from it with the
committed tiny model (no torch)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from review.pick import PickJob, PickReport, run_pick

TEXTS = {
    "en": ("where is my order {n}?", "Your order {n} ships today.", "write me a poem about the sea {n}",
           "Waves of silver, gulls that cry {n}."),
    "de": ("wo ist meine Bestellung {n}?", "Ihre Bestellung {n} kommt morgen.", "schreib ein Gedicht {n}",
           "Wellen im Wind, Möwen im Licht {n}."),
    "es": ("¿dónde está mi pedido {n}?", "Tu pedido {n} llega mañana.", "escribe un poema {n}",
           "Olas de plata sobre el mar {n}."),
    "pt-BR": ("cadê meu pedido {n}?", "Seu pedido {n} chega amanhã.", "escreve um poema {n}",
              "Ondas de prata no mar {n}."),
}  # fmt: skip


def conversation(i: int) -> dict:
    lang = list(TEXTS)[i % 4]
    ask, answer, general_ask, general_answer = (t.format(n=1000 + i) for t in TEXTS[lang])
    turns = [{"role": "user", "text": ask}, {"role": "assistant", "text": answer}]
    label = "business_support"
    if i % 3 == 0:
        turns += [{"role": "user", "text": general_ask}, {"role": "assistant", "text": general_answer}]
        label = "general_assistance"
    channel = "whatsapp" if i % 2 else "web"
    return {"id": f"c-{i:03d}", "turns": turns, "label": label, "lang": lang, "meta": {"channel": channel}}


def write_archive(path: Path, n: int = 40, *, bad: bool = True) -> Path:
    lines = [json.dumps(conversation(i)) for i in range(n)]
    if bad:
        lines.insert(5, '{"id": "broken", "turns": [{"role": "bot", "text": "hi"}]}')
        lines.insert(9, "{not json")
        lines.append(json.dumps(conversation(3)))  # a duplicate id
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """40 valid conversations, one invalid record, one line that is not JSON, one duplicate id."""
    return write_archive(tmp_path / "archive.jsonl")


@pytest.fixture
def pick_into(tiny_model_dir: Path) -> Callable[..., PickReport]:
    def run(archive: Path, queue: Path, n: int = 10, **kwargs: object) -> PickReport:
        return run_pick(PickJob(inputs=(str(archive),), queue=queue, model_dir=tiny_model_dir, n=n,
                                threads=1, **kwargs))  # type: ignore[arg-type]  # fmt: skip

    return run


@pytest.fixture
def queue_file(tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]) -> Path:
    queue = tmp_path / "queue.db"
    pick_into(archive, queue, n=10)
    return queue
