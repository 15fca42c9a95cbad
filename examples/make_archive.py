"""Build ``examples/archive/``: a small sample archive in all five input formats for ``make demo``.

Every conversation is assembled from the hand-written material below (businesses with their support
exchanges, general-purpose requests with a bot that either answers them or steers back), with a seeded
random generator, so the archive is identical on every run::

    python examples/make_archive.py            # writes examples/archive/
    python examples/make_archive.py --out DIR --seed 7

Files: ``support_2026-03.jsonl.gz`` (schema v1), ``llm_bot_openai.jsonl`` (OpenAI chat format),
``helpdesk_export.csv`` (long CSV), ``whatsapp/*.txt`` with ``.meta.json`` sidecars (WhatsApp "Export
chat"), ``wa_cloud_webhooks.jsonl`` (WhatsApp Cloud API webhooks and logged send requests). Labels are the
ground truth of the assembly (``general_assistance`` when the bot answered a general request). None of
this text comes from ``data/``.

The bundled archive is clean, so ``scopeguard validate examples/archive`` (the first step of ``make demo``)
passes. ``--with-broken`` adds three broken records (a cut-off JSON line, an unknown role, an empty CSV
message) to show the quarantine: ``305 records read: 302 scored, 3 quarantined``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "archive"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAYS = 28


@dataclass(frozen=True)
class Business:
    lang: str
    name: str
    business: str
    domain: str
    system: str
    greeting: str
    closing: str
    deflection: str  # {topics} is filled in; followed by a question back to the business
    exchanges: tuple[tuple[str, str, str], ...]  # (category, customer, bot)


@dataclass(frozen=True)
class General:
    lang: str
    category: str
    request: str
    answer: str


BUSINESSES = (
    Business(
        "en",
        "Northwind Outfitters",
        "online fashion shop",
        "retail",
        "You are the WhatsApp assistant of Northwind Outfitters. Help with orders, deliveries, returns and "
        "sizes only.",
        "Hi {name}! This is Northwind Outfitters. How can I help?",
        "You're welcome, {name}! Have a lovely day.",
        "I'm only able to help with {topics} here at Northwind. Is there anything about an order I can "
        "check for you?",
        (
            (
                "orders",
                "hi, where is my order {order}? it was due yesterday",
                "Sorry for the wait! Order {order} left our warehouse on {date} and is with DHL. The latest "
                "scan says "
                "it will be delivered today before 6 pm.",
            ),
            (
                "returns",
                "I need to return the linen shirt from order {order}, it's too big",
                "No problem. Returns are free within 30 days. I've emailed you a return label for order "
                "{order}; drop "
                "the parcel at any post office and the refund of £{amount} arrives 3-5 days after we "
                "receive it.",
            ),
            (
                "sizes",
                "does the wool coat run small? I'm usually an M",
                "It's a regular fit. Most customers who wear M take M; if you like layering a thick jumper "
                "underneath, go one size up. Sleeve length for M is 64 cm.",
            ),
            (
                "orders",
                "can I still change the delivery address for {order}?",
                "Yes, it hasn't shipped yet. Please send me the new address and I'll update order {order} "
                "right away.",
            ),
            (
                "payments",
                "I was charged twice for order {order}",
                "I can see one payment of £{amount} and one pending authorisation that your bank will "
                "release within "
                "5 working days. You won't be charged twice.",
            ),
        ),
    ),
    Business(
        "en",
        "Sunrise Dental",
        "dental clinic",
        "health",
        "Sunrise Dental appointment assistant. Appointments, opening hours, insurance and billing only.",
        "Hello {name}, Sunrise Dental here. What can I do for you?",
        "See you soon, {name}! Reply CANCEL any time to change your visit.",
        "I can only help with {topics} for Sunrise Dental. Shall I look for an appointment for you?",
        (
            (
                "appointments",
                "can I move my cleaning on {date} to later in the week?",
                "Sure. We have Thursday at 10:30 or Friday at 16:00 with Dr. Patel. Which works better?",
            ),
            (
                "appointments",
                "Friday please",
                "Done ✅ Your cleaning is now on Friday at 16:00 with Dr. Patel.",
            ),
            (
                "billing",
                "why is my invoice {order} higher than last time?",
                "Invoice {order} includes an X-ray (£{amount}) that your plan covers only once a year. Your "
                "last X-ray "
                "was less than 12 months ago, so it wasn't covered this time.",
            ),
            (
                "hours",
                "are you open on saturdays?",
                "Yes, Saturdays from 9:00 to 13:00, emergency slots included.",
            ),
        ),
    ),
    Business(
        "en",
        "Volt Mobile",
        "mobile carrier",
        "telecom",
        "Volt Mobile customer care bot: plans, bills, roaming, outages, SIM and device issues.",
        "Hey {name}, Volt Mobile support here 👋",
        "Glad I could help, {name}. Anything else, just message us here.",
        "That's outside what I can do - I help with {topics} for your Volt Mobile line. Anything about your "
        "plan?",
        (
            (
                "outage",
                "no signal since this morning in postcode {postcode}",
                "There is a known outage around {postcode} since 07:40. Engineers expect to fix it by 16:00 "
                "and "
                "we'll message you when it's back. Your bill will be credited automatically.",
            ),
            (
                "roaming",
                "will my plan work in Spain next week?",
                "Yes, EU roaming is included in your plan at no extra cost, up to 20 GB of data.",
            ),
            (
                "billing",
                "my bill this month is £{amount}, why?",
                "It includes a one-off charge for international calls on {date}. Your monthly plan price is "
                "unchanged.",
            ),
            (
                "sim",
                "I lost my phone, can you block the SIM?",
                "I've blocked the SIM on your line ending 4471. A replacement SIM is on its way and arrives "
                "in 1-2 days.",
            ),
        ),
    ),
    Business(
        "de",
        "Stadtwerke Hagen",
        "Energieversorger",
        "utilities",
        "Du bist der Kundenservice-Bot der Stadtwerke Hagen: Zählerstände, Abschläge, Umzug, Störungen.",
        "Hallo {name}, hier ist der Kundenservice der Stadtwerke Hagen.",
        "Gern geschehen, {name}! Einen schönen Tag noch.",
        "Dabei kann ich leider nicht helfen – ich bin für {topics} da. Kann ich sonst etwas für Ihren "
        "Vertrag tun?",
        (
            (
                "zaehlerstand",
                "Hier ist mein Zählerstand: {amount}4 kWh",
                "Danke! Ich habe den Zählerstand für Ihren Zähler übernommen. Die Jahresabrechnung kommt im "
                "April.",
            ),
            (
                "abschlag",
                "Kann ich meinen Abschlag auf {amount} Euro senken?",
                "Ja, ab dem nächsten Monat beträgt Ihr Abschlag {amount} Euro. Sie erhalten eine "
                "Bestätigung per E-Mail.",
            ),
            (
                "umzug",
                "Ich ziehe am {date} um, was muss ich tun?",
                "Bitte nennen Sie mir Ihre neue Adresse und den Zählerstand am Auszugstag. Den Rest "
                "erledigen wir.",
            ),
            (
                "stoerung",
                "Bei uns ist seit einer Stunde der Strom weg, PLZ {postcode}",
                "Im Bereich {postcode} gibt es eine Störung im Netz. Die Techniker sind vor Ort, "
                "voraussichtlich ist "
                "die Versorgung bis 14 Uhr wiederhergestellt.",
            ),
        ),
    ),
    Business(
        "de",
        "Blumen Krause",
        "Blumenladen",
        "retail",
        "Bestell-Assistent von Blumen Krause: Sträuße, Lieferung, Bestellstatus.",
        "Hallo {name}, willkommen bei Blumen Krause 🌷",
        "Danke für deine Bestellung, {name}!",
        "Das kann ich leider nicht – ich helfe hier bei {topics}. Darf ich dir einen Strauß zeigen?",
        (
            (
                "lieferung",
                "Liefert ihr am Samstag nach Köln?",
                "Ja, Samstagslieferung nach Köln ist möglich, wenn du bis Freitag 14 Uhr bestellst.",
            ),
            (
                "bestellung",
                "Wo bleibt meine Bestellung {order}?",
                "Bestellung {order} ist in Zustellung und kommt heute zwischen 12 und 16 Uhr.",
            ),
        ),
    ),
    Business(
        "es",
        "Farmacia Solana",
        "farmacia",
        "health",
        "Asistente de Farmacia Solana: pedidos, disponibilidad, horarios y recetas electrónicas.",
        "¡Hola {name}! Farmacia Solana, ¿en qué te ayudo?",
        "¡Gracias, {name}! Que te mejores.",
        "Lo siento, solo puedo ayudarte con {topics}. ¿Quieres que revise la disponibilidad de algún "
        "producto?",
        (
            (
                "disponibilidad",
                "¿tienen ibuprofeno de 600 en la tienda del centro?",
                "Sí, hay unidades en la tienda del centro. Puedes recogerlo hoy hasta las 21:00.",
            ),
            (
                "pedidos",
                "¿cuándo llega mi pedido {order}?",
                "Tu pedido {order} sale hoy y llega mañana antes de las 14:00.",
            ),
            (
                "recetas",
                "¿puedo usar la receta electrónica en su web?",
                "Sí, introduce tu tarjeta sanitaria en el paso de pago y la receta se carga automáticamente.",
            ),
        ),
    ),
    Business(
        "pt-BR",
        "Loja Aurora",
        "loja de calçados",
        "retail",
        "Você é a assistente da Loja Aurora no WhatsApp. Ajude com pedidos, trocas, tamanhos e entregas.",
        "Oi {name}! Aqui é a Loja Aurora 😊",
        "Obrigada, {name}! Qualquer coisa é só chamar.",
        "Não consigo ajudar com isso por aqui, eu cuido de {topics}. Posso ver algum pedido para você?",
        (
            (
                "estoque",
                "vocês têm a bota Chelsea no 38?",
                "Temos sim! A bota Chelsea preta está disponível no 38 por R$ {amount}.",
            ),
            (
                "entrega",
                "vocês entregam em Campinas no sábado?",
                "Entregamos sim! Pedidos feitos até sexta às 15h chegam no sábado em Campinas.",
            ),
            (
                "trocas",
                "quero trocar o tênis do pedido {order} por um número maior",
                "Claro! A troca é grátis em até 30 dias. Enviei o código de postagem do pedido {order} para "
                "o seu e-mail.",
            ),
        ),
    ),
)

TOPICS = {
    "en": "orders, deliveries, returns, appointments and billing",
    "de": "Fragen zu Ihrem Vertrag, Bestellungen und Lieferungen",
    "es": "pedidos, disponibilidad y recetas",
    "pt-BR": "pedidos, trocas e entregas",
}

GENERALS = (
    General(
        "en",
        "writing",
        "can you write a short poem for my mum's 60th birthday?",
        "Of course! Sixty springs of laughter bright, / sixty years of guiding light, / your kindness is the "
        "gift we share - / happy birthday, Mum, beyond compare.",
    ),
    General(
        "en",
        "coding",
        "how do I reverse a list in python?",
        "Use slicing: `my_list[::-1]` returns a reversed copy, or `my_list.reverse()` reverses it in place.",
    ),
    General(
        "en",
        "homework",
        "explain photosynthesis for my biology exam tomorrow",
        "Photosynthesis is how plants turn light, water and CO2 into glucose and oxygen. It happens in the "
        "chloroplasts in two stages: the light-dependent reactions make ATP and NADPH, and the Calvin cycle "
        "uses them to fix carbon into sugar.",
    ),
    General(
        "en",
        "knowledge",
        "who won the world cup in 2014?",
        "Germany won the 2014 World Cup, beating Argentina 1-0 in the final.",
    ),
    General(
        "en",
        "advice",
        "what's a good way to ask my boss for a raise?",
        "Pick a calm moment, bring three concrete results you delivered this year, name a specific number "
        "based on market data, and ask what it would take if the answer is not yet.",
    ),
    General(
        "en",
        "translation",
        "how do you say 'nice to meet you' in japanese?",
        "'Hajimemashite' (はじめまして) - usually followed by 'yoroshiku onegaishimasu'.",
    ),
    General(
        "de",
        "writing",
        "Kannst du mir ein Gedicht zum Geburtstag meiner Oma schreiben?",
        "Gern! Neunzig Jahre, voller Licht, / dein Lachen, das vergisst man nicht. / Wir danken dir für "
        "jeden "
        "Tag – / alles Gute, liebe Oma, ganz nach deinem Geschmack!",
    ),
    General("de", "homework", "Was ist die Ableitung von x hoch 3?", "Die Ableitung von x³ ist 3x²."),
    General(
        "de",
        "advice",
        "Was kann ich bei meiner Steuererklärung absetzen?",
        "Typisch sind Werbungskosten wie Fahrtkosten (Pendlerpauschale), Arbeitsmittel und Fortbildungen, "
        "dazu Sonderausgaben wie Versicherungsbeiträge und Spenden.",
    ),
    General(
        "es",
        "homework",
        "¿me explicas la fotosíntesis para mi examen?",
        "¡Claro! La fotosíntesis es el proceso por el que las plantas convierten luz, agua y CO₂ en glucosa "
        "y oxígeno; ocurre en los cloroplastos en una fase luminosa y el ciclo de Calvin.",
    ),
    General(
        "es",
        "writing",
        "escríbeme un mensaje bonito para el aniversario de mi pareja",
        "Un año más a tu lado y sigo eligiéndote cada día. Gracias por tu risa, tu paciencia y tu luz. "
        "¡Feliz aniversario, amor!",
    ),
    General("pt-BR", "knowledge", "qual é a capital da Austrália?", "A capital da Austrália é Camberra."),
    General(
        "pt-BR",
        "coding",
        "como faço um loop em javascript?",
        "Use `for (let i = 0; i < 10; i++) { console.log(i); }` ou `array.forEach(item => ...)`.",
    ),
)

SMALL_TALK = {
    "en": ("thanks!", "ok great", "perfect, thank you 🙏", "cool"),
    "de": ("Danke!", "Super, danke", "Alles klar"),
    "es": ("¡gracias!", "perfecto", "vale, gracias"),
    "pt-BR": ("obrigada!", "perfeito", "valeu!"),
}
NAMES = ("Ana", "Jonas", "Mariana", "Priya", "Tom", "Lea", "Carlos", "Sofia", "Ben", "Yuki", "Lucas", "Emma")
AGENT_HANDOVER = {
    "en": (
        "can I talk to a person?",
        "Hi {name}, this is Paulo from the team. I've taken over and will sort this out.",
    ),
    "de": (
        "Kann ich mit einem Menschen sprechen?",
        "Hallo {name}, hier ist Sabine vom Team. Ich kümmere mich darum.",
    ),
    "es": ("¿puedo hablar con una persona?", "Hola {name}, soy Lucía del equipo. Yo me encargo."),
    "pt-BR": (
        "posso falar com um atendente?",
        "Oi {name}, aqui é a Júlia da equipe. Vou resolver para você.",
    ),
}


def _fill(text: str, slots: dict[str, str]) -> str:
    return text.format(**slots)


def _slots(rng: random.Random) -> dict[str, str]:
    day = START + timedelta(days=rng.randrange(DAYS))
    return {
        "order": str(rng.randint(10000, 99999)),
        "amount": str(rng.choice((19, 24, 39, 45, 59, 89, 120))),
        "date": day.strftime("%d %b"),
        "postcode": str(rng.randint(10000, 99999)),
        "name": rng.choice(NAMES),
    }


def build_conversation(rng: random.Random, index: int, business: Business) -> dict[str, Any]:
    """A schema-v1 conversation with label, lang, timestamps, meta channel/business/domain/category."""
    slots = _slots(rng)
    generals = [g for g in GENERALS if g.lang == business.lang]
    turns: list[tuple[str, str]] = []
    label = "business_support"
    category = None
    kind = rng.random()
    if kind < 0.06:  # a lone request, no bot reply yet
        general = rng.random() < 0.5
        if general:
            g = rng.choice(generals)
            turns.append(("user", g.request))
            label, category = "general_assistance", g.category
        else:
            cat, user, _ = rng.choice(business.exchanges)
            turns.append(("user", _fill(user, slots)))
            category = cat
    else:
        if rng.random() < 0.5:
            turns.append(("assistant", _fill(business.greeting, slots)))
        for cat, user, bot in rng.sample(
            business.exchanges, k=rng.randint(1, min(3, len(business.exchanges)))
        ):
            turns += [("user", _fill(user, slots)), ("assistant", _fill(bot, slots))]
            category = category or cat
        roll = rng.random()
        if roll < 0.30:  # a general request the bot answers: general assistance inside a support flow
            g = rng.choice(generals)
            turns += [("user", g.request), ("assistant", g.answer)]
            label, category = "general_assistance", g.category
        elif roll < 0.55:  # a general request the bot declines and steers back: still business support
            g = rng.choice(generals)
            turns += [
                ("user", g.request),
                ("assistant", business.deflection.format(topics=TOPICS[business.lang])),
            ]
        if rng.random() < 0.12:
            ask, agent = AGENT_HANDOVER[business.lang]
            turns += [("user", ask), ("agent", _fill(agent, slots))]
        if rng.random() < 0.7:
            turns += [
                ("user", rng.choice(SMALL_TALK[business.lang])),
                ("assistant", _fill(business.closing, slots)),
            ]
    start = START + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(9 * 60))
    out_turns = []
    at = start
    for role, text in turns:
        out_turns.append({"role": role, "text": text, "ts": at.isoformat().replace("+00:00", "Z")})
        at += timedelta(seconds=rng.randint(5, 240))
    return {
        "id": f"demo-{index:04d}",
        "turns": out_turns,
        "label": label,
        "lang": business.lang,
        "meta": {
            "channel": "whatsapp",
            "business": business.business,
            "domain": business.domain,
            "category": category or "other",
        },
    }


def _conversations(
    rng: random.Random, n: int, start_index: int, langs: tuple[str, ...] | None = None
) -> list[dict]:
    pool = [b for b in BUSINESSES if langs is None or b.lang in langs]
    return [build_conversation(rng, start_index + i, rng.choice(pool)) for i in range(n)]


def write_jsonl_gz(path: Path, convs: list[dict], broken: bool) -> None:
    lines = [json.dumps(c, ensure_ascii=False) for c in convs]
    if broken:
        lines.insert(17, '{"id": "demo-broken", "turns": [{"role": "user", "text": "hi, where is my ord')
        bad = dict(convs[0], id="demo-bad-role", turns=[{"role": "bot", "text": "Hello!"}])
        lines.insert(40, json.dumps(bad))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle,
    ):  # mtime=0: reproducible
        handle.write(data)


def write_openai(path: Path, rng: random.Random, convs: list[dict]) -> None:
    """OpenAI chat format, as an LLM bot logs it: the system prompt first, metadata separate."""
    with path.open("w", encoding="utf-8") as handle:
        for conv in convs:
            business = next(b for b in BUSINESSES if b.business == conv["meta"]["business"])
            messages = [{"role": "system", "content": business.system}]
            messages += [
                {"role": t["role"], "content": t["text"]} for t in conv["turns"] if t["role"] != "agent"
            ]
            record = {
                "id": conv["id"],
                "messages": messages,
                "label": conv["label"],
                "lang": conv["lang"],
                "metadata": {**conv["meta"], "channel": rng.choice(("whatsapp", "web"))},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_csv(path: Path, convs: list[dict], broken: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("conversation_id", "role", "text", "ts", "lang", "label"))
        for conv in convs:
            for turn in conv["turns"]:
                writer.writerow(
                    (conv["id"], turn["role"], turn["text"], turn["ts"], conv["lang"], conv["label"])
                )
        if broken:
            writer.writerow(("demo-empty", "user", "   ", "2026-03-20T10:00:00Z", "en", ""))  # empty message


def _whatsapp_line(at: datetime, sender: str, text: str, ios: bool) -> str:
    if ios:
        return f"[{at.strftime('%d/%m/%Y, %H:%M:%S')}] {sender}: {text}"
    return f"{at.strftime('%d/%m/%Y, %H:%M')} - {sender}: {text}"


def write_whatsapp(folder: Path, convs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, conv in enumerate(convs):
        business = next(b for b in BUSINESSES if b.business == conv["meta"]["business"])
        customer = f"{NAMES[k % len(NAMES)]} {'MRST'[k % 4]}."
        ios = k % 2 == 1
        lines = []
        first = datetime.fromisoformat(conv["turns"][0]["ts"].replace("Z", "+00:00"))
        lines.append(
            _whatsapp_line(
                first,
                business.name,
                "Messages and calls are end-to-end encrypted. No one "
                "outside of this chat, not even WhatsApp, can read or listen to them.",
                ios,
            )
        )
        for turn in conv["turns"]:
            at = datetime.fromisoformat(turn["ts"].replace("Z", "+00:00"))
            sender = {"user": customer, "assistant": business.name, "agent": "Paulo (Team)"}[turn["role"]]
            lines.append(_whatsapp_line(at, sender, turn["text"], ios))
        name = f"WhatsApp Chat - {customer.replace('.', '')} {k:02d}.txt"
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        sidecar = {
            "business_sender": business.name,
            "agent_senders": ["Paulo (Team)"],
            "label": conv["label"],
            "lang": conv["lang"],
            "meta": conv["meta"],
        }
        (folder / (name + ".meta.json")).write_text(
            json.dumps(sidecar, ensure_ascii=False, indent=1), encoding="utf-8"
        )


def write_wa_cloud(path: Path, rng: random.Random, convs: list[dict]) -> None:
    """Inbound webhooks (customer messages, delivery receipts) and logged outbound send requests."""
    events: list[tuple[int, int, dict]] = []
    for k, conv in enumerate(convs):
        wa_id = f"49151{rng.randint(1000000, 9999999)}"
        for j, turn in enumerate(conv["turns"]):
            if turn["role"] == "agent":
                continue
            ts = int(datetime.fromisoformat(turn["ts"].replace("Z", "+00:00")).timestamp()) + k  # distinct
            msg_id = f"wamid.{k:03d}{j:02d}"
            if turn["role"] == "user":
                value = {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "4930123456", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": NAMES[k % len(NAMES)]}, "wa_id": wa_id}],
                    "messages": [
                        {
                            "from": wa_id,
                            "id": msg_id,
                            "timestamp": str(ts),
                            "type": "text",
                            "text": {"body": turn["text"]},
                        }
                    ],
                }
                events.append(
                    (
                        ts,
                        len(events),
                        {
                            "object": "whatsapp_business_account",
                            "entry": [
                                {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
                            ],
                        },
                    )
                )
            else:
                events.append(
                    (
                        ts,
                        len(events),
                        {
                            "messaging_product": "whatsapp",
                            "recipient_type": "individual",
                            "to": wa_id,
                            "type": "text",
                            "text": {"body": turn["text"]},
                            "timestamp": ts,
                            "id": msg_id,
                        },
                    )
                )
                status = {
                    "messaging_product": "whatsapp",
                    "statuses": [
                        {"id": msg_id, "status": "delivered", "timestamp": str(ts + 2), "recipient_id": wa_id}
                    ],
                }
                events.append(
                    (
                        ts + 2,
                        len(events),
                        {
                            "object": "whatsapp_business_account",
                            "entry": [
                                {"id": "102290129340398", "changes": [{"value": status, "field": "messages"}]}
                            ],
                        },
                    )
                )
    events.sort(key=lambda e: (e[0], e[1]))
    with path.open("w", encoding="utf-8") as handle:
        for _, _, event in events:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")


BROKEN_RECORDS = 3


def build_archive(out: Path, seed: int = 0, *, broken: bool = False) -> dict[str, int]:
    """Write the archive to ``out``; returns conversations per file kind (broken records not counted).

    ``broken`` adds BROKEN_RECORDS unusable records (see the module docstring)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = _conversations(rng, 140, 0)
    openai = _conversations(rng, 60, 1000)
    for conv in openai[::3]:  # LLM bots write long replies: lengthen some bot turns
        for turn in conv["turns"]:
            if turn["role"] == "assistant":
                turn["text"] += (
                    " Let me know if there's anything else I can help you with - I'm here 24/7, and you "
                    "can also manage your account in our app under Settings > Support."
                )
    table = _conversations(rng, 50, 2000)
    # a WhatsApp export names the business only through its messages: keep chats the bot answered
    chats = [c for c in _conversations(rng, 20, 3000) if any(t["role"] == "assistant" for t in c["turns"])][
        :12
    ]
    cloud = _conversations(rng, 40, 4000)
    write_jsonl_gz(out / "support_2026-03.jsonl.gz", jsonl, broken)
    write_openai(out / "llm_bot_openai.jsonl", rng, openai)
    write_csv(out / "helpdesk_export.csv", table, broken)
    write_whatsapp(out / "whatsapp", chats)
    write_wa_cloud(out / "wa_cloud_webhooks.jsonl", rng, cloud)
    return {
        "jsonl": len(jsonl),
        "openai": len(openai),
        "csv": len(table),
        "whatsapp-txt": len(chats),
        "wa-cloud": len(cloud),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-broken", action="store_true", help="add 3 broken records (quarantine demo)")
    args = parser.parse_args()
    counts = build_archive(args.out, args.seed, broken=args.with_broken)
    detail = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    print(f"{args.out}: {sum(counts.values())} conversations ({detail})")


if __name__ == "__main__":
    main()
