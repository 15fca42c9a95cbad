"""Freshly generated conversations (the committed fragments and tables, a small seeded run) are coherent:
one form of address per business, greetings and prices of the business's country, agent lines that fit the
domain, a bot that gives in only to a customer who insisted, replies that repeat the customer's dates,
times and amounts, product prices in range, and the customer's name only once they gave it.

The checks (datagen/checks.py) read the conversations as text, not the generator's bookkeeping, and each is
shown to catch its defect when it is injected into a generated conversation.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from classifier.schema import Conversation, parse_conversation
from datagen import checks
from datagen.config import load_config
from datagen.engine import generate
from datagen.fragments import LanguageFragments, load_fragments_strict
from datagen.slots import SlotFiller

REPO = Path(__file__).resolve().parents[2]
SIZES = {"train": 300, "validation": 40, "test": 40, "heldout": 40}
CUSTOMER, AGENT = "Zebulon", "Quirina"  # no language's name list holds them: every use is a slot's


@pytest.fixture(scope="module")
def committed() -> dict[str, LanguageFragments]:
    return load_fragments_strict(REPO / "data" / "fragments")


@pytest.fixture(scope="module")
def fresh() -> list[Conversation]:
    config = load_config(REPO / "data" / "generate.yaml")
    config = config.model_validate({**config.model_dump(), "split_sizes": SIZES})
    draw = SlotFiller._draw
    names = {"name": CUSTOMER, "agent": AGENT}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SlotFiller, "_draw", lambda self, name: names.get(name) or draw(self, name))
        result = generate(config)
    return [parse_conversation(r) for records in result.records.values() for r in records]


def _settings(convs, committed):
    return [(c, checks.business_setting(c, committed)) for c in convs]


def test_a_business_addresses_the_customer_in_one_form(fresh):
    assert [p for c in fresh for p in checks.address_problems(c)] == []
    german = [c for c in fresh if c.lang == "de"]
    forms = {
        f
        for c in german
        for t in c.turns
        if t.role == "assistant"
        for f in checks.address_marks(t.text, "de")
    }
    assert forms == {"du", "Sie"}  # both forms are drawn, never in one conversation


def test_greetings_words_and_prices_fit_the_business_country(fresh, committed):
    settings = _settings(fresh, committed)
    assert [p for c, s in settings for p in checks.region_problems(c, s)] == []
    assert [p for c, s in settings for p in checks.currency_problems(c, s)] == []
    assert {s.currency for c, s in settings if c.lang == "es"} >= {"EUR", "MXN", "ARS"}


def test_product_prices_are_plausible(fresh, committed):
    problems = []
    for conv, setting in _settings(fresh, committed):
        domain = committed[setting.lang].domains.get(setting.domain)
        problems += checks.price_problems(conv, setting, domain.prices if domain else {})
    assert problems == []


def test_agent_lines_fit_the_domain(fresh, committed):
    assert [p for c, s in _settings(fresh, committed) for p in checks.domain_problems(c, s)] == []


def test_the_bot_gives_in_only_to_a_customer_who_insisted(fresh, committed):
    insist = {lang: [g.text for g in f.glue.lists["insist_user"]] for lang, f in committed.items()}
    assert [p for c in fresh for p in checks.giving_in_problems(c, insist[c.lang])] == []


def test_replies_repeat_the_dates_times_and_amounts_the_customer_gave(fresh, committed):
    assert [p for c, s in _settings(fresh, committed) for p in checks.echo_problems(c, s)] == []


def test_the_customer_is_named_only_once_they_gave_their_name(fresh):
    assert [p for c in fresh for p in checks.name_problems(c, CUSTOMER)] == []
    named = [c for c in fresh if any(CUSTOMER in t.text for t in c.turns if t.role != "user")]
    assert named  # the bot does use a name it was given (or a greeting that recognised the customer)


# --- each check catches its defect -------------------------------------------------------------------


def _with(conv: Conversation, *turns: tuple[str, str]) -> Conversation:
    record = copy.deepcopy(conv.to_record())
    record["turns"] += [{"role": role, "text": text} for role, text in turns]
    return parse_conversation(record)


def _first(fresh, committed, predicate):
    return next((c, s) for c, s in _settings(fresh, committed) if predicate(c, s))


def test_each_check_catches_the_defect_it_guards_against(fresh, committed):
    de, _ = _first(fresh, committed, lambda c, s: c.lang == "de" and c.has_bot_reply)
    mixed = _with(
        de, ("assistant", "Können Sie mir Ihre Nummer geben?"), ("assistant", "Kannst du sie schicken?")
    )
    assert checks.address_problems(mixed)

    en, en_setting = _first(fresh, committed, lambda c, s: c.lang == "en" and s.country not in ("AU", "US"))
    assert checks.region_problems(_with(en, ("user", "G'day, quick question")), en_setting)
    assert checks.currency_problems(_with(en, ("assistant", "That's $12.50 all in.")), en_setting)

    no_orders, setting = _first(fresh, committed, lambda c, s: s.domain in ("insurance", "bank", "saas"))
    assert checks.domain_problems(_with(no_orders, ("agent", "Your order is on its way.")), setting)

    insist = [g.text for g in committed["en"].glue.lists["insist_user"]]
    plain = _with(
        en, ("user", "how do I reset my password"), ("assistant", "Alright, just this once: tap Reset.")
    )
    assert checks.giving_in_problems(plain, insist)
    pushed = _with(en, ("user", insist[0]), ("assistant", "Alright, just this once: tap Reset."))
    assert not checks.giving_in_problems(pushed, insist)

    moved = _with(en, ("user", "move it to 14 March pls"), ("assistant", "Done, moved to 3 May ✅"))
    assert checks.echo_problems(moved, en_setting)
    assert not checks.echo_problems(
        _with(en, ("user", "move it to 14 March"), ("assistant", "Moved to 14 March")), en_setting
    )

    assert checks.name_problems(_with(en, ("assistant", f"Thanks, {CUSTOMER}!")), CUSTOMER)
    given = _with(en, ("user", f"it's {CUSTOMER} btw"), ("assistant", f"Thanks, {CUSTOMER}!"))
    assert not checks.name_problems(given, CUSTOMER)

    prices = committed["en"].domains["telecom"].prices
    cheap = _with(en, ("assistant", "iPhone 15 128GB is in stock at £3.00."))
    assert checks.price_problems(cheap, en_setting.__class__("en", "telecom", "UK", "GBP"), prices)
