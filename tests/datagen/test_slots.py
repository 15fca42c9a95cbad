"""Slot values: language, country, currency and one format per conversation."""

from __future__ import annotations

import random
import re

from datagen_samples import KNOWLEDGE

from datagen.fragments import load_fragments_strict
from datagen.slots import SlotFiller, format_amount


def test_spanish_time_is_bare_and_dates_keep_one_format():
    from datagen.slots import format_time

    rng = random.Random(3)
    assert not any(format_time(rng, "es").startswith("las") for _ in range(200))
    for seed in range(10):
        slots = SlotFiller(random.Random(seed), "en", "Shop")
        shapes = {re.sub(r"\d+", "9", slots.fill("{date}")) for _ in range(30)}
        shapes = {re.sub(r"[A-Z][a-z]+", "Month", s) for s in shapes}
        assert len(shapes) == 1, shapes


def test_one_currency_and_city_list_per_business(tmp_path, write_lang):
    domain = """
domain: telecom
businesses: [{name: "MTN Nigeria", country: NG}, "Vodafone"]
families:
  - id: roaming
    kind: exchange
    user: ["roaming to {city}?"]
    bot: ["Roaming costs {amount} a day, {amount_large} a year."]
"""
    lang = write_lang(tmp_path, domain=domain)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    pool = load_fragments_strict(tmp_path, ("en",))["en"]
    assert pool.domains["telecom"].locales == {"MTN Nigeria": ("NG", None)}
    for seed in range(20):
        ng = SlotFiller(random.Random(seed), "en", "MTN Nigeria", country="NG", domain="telecom")
        text = ng.fill("{amount} {amount} {amount_large} {city} {url}")
        assert text.count("£") == 0 and text.count("€") == 0 and ".co.uk" not in text
        assert ng.fill("{city}") in (
            "Lagos",
            "Abuja",
            "Port Harcourt",
            "Ibadan",
            "Enugu",
            "Kano",
            "Benin City",
        )
        uk = SlotFiller(random.Random(seed), "en", "Vodafone")
        assert {c for c in uk.fill(" ".join(["{amount}"] * 10)) if c in "£$€₦"} == {"£"}


def test_small_amounts_are_the_rule():
    slots = SlotFiller(random.Random(0), "en", "Shop")
    values = [float(slots.fill("{amount}").lstrip("£").replace(",", "")) for _ in range(500)]
    assert max(values) <= 300 and sorted(values)[250] < 60


def test_slot_values_follow_the_language():
    rng = random.Random(1)
    assert all(SlotFiller(rng, "pt-BR", "Loja").fill("{amount}").startswith("R$") for _ in range(20))
    assert all(SlotFiller(rng, "de", "Laden").fill("{amount}").endswith(("€", "EUR")) for _ in range(20))
    assert all(format_amount(rng, "CH", 12.5, 0, True) == "CHF 12.50" for _ in range(3))
    filler = SlotFiller(rng, "de", "Funkwerk Mobil")
    text = filler.fill("Bestellung {order_id}, nochmal {order_id}, {business}, code {x}")
    first, second = text.split(", ")[0].split()[-1], text.split(", ")[1].split()[-1]
    assert first == second  # identity slots stay fixed within a conversation
    assert text.endswith("Funkwerk Mobil, code {x}")  # unknown braces stay literal


def test_a_reply_repeats_the_values_it_answers_in_order():
    slots = SlotFiller(random.Random(4), "en", "Shop")
    asked = slots.fill("move my flight from {date} to {date} at {time}, refund {amount}?")
    heard = slots.said
    reply = slots.fill("Moved from {date} to {date}, {time} ✅ Refund {amount}; fee {amount}.", echo=heard)
    assert slots.said["date"] == heard["date"] and slots.said["time"] == heard["time"]
    assert slots.said["amount"][0] == heard["amount"][0]  # the second amount (the fee) is new
    assert all(value in asked for value in slots.said["date"])
    assert reply.startswith(f"Moved from {heard['date'][0]} to {heard['date'][1]}")


def test_an_amount_after_a_priced_product_is_its_price():
    prices = {"iPhone 15": (700.0, 1000.0), "eSIM": (1.0, 10.0)}
    for seed in range(30):
        slots = SlotFiller(
            random.Random(seed), "en", "Shop", ("iPhone 15", "eSIM"), prices=prices, country="US"
        )
        text = slots.fill("Yes, {product} is in stock at {amount}.")
        value = float(re.findall(r"[\d,]+\.?\d*", text)[-1].rstrip(".").replace(",", ""))
        low, high = prices[slots.fixed["product"]]
        assert low <= value <= high, text


def test_words_around_an_amount_set_its_range():
    from datagen.slots import cue_bounds

    text = "The delivery fee is {amount} and a room costs {amount}/night."
    first, second = (i for i in range(len(text)) if text.startswith("{amount}", i))
    assert cue_bounds(text, first, first + 8, "en") == (1, 40)
    assert cue_bounds(text, second, second + 8, "en") == (40, 350)
    assert cue_bounds("Your total is {amount}.", 14, 22, "en") is None  # the domain's range
