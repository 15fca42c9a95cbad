"""A small archive for the review tests: conversations in four languages and two channels, some general."""

from __future__ import annotations

import json
from pathlib import Path

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
