"""Which lines fit a conversation (datagen/fit.py): form of address, region, domain, currency, names."""

from __future__ import annotations

import random

import pytest

from datagen import fit
from datagen.fit import DOMAIN_GROUPS, Setting
from datagen.fragments import DOMAINS, OFFER_DOMAINS
from datagen.tables import countries, language_folders, tables

DE_SIE = Setting("de", "bank", "DE", "EUR", "Sie")
DE_DU = Setting("de", "bank", "DE", "EUR", "du")


def test_every_group_and_regional_country_is_known():
    known = set(DOMAINS) | set(OFFER_DOMAINS)
    assert all(group <= known for group in DOMAIN_GROUPS.values())
    for lang in language_folders():
        table = tables(lang)
        assert set(table.coherence.domain_words) <= set(DOMAIN_GROUPS), lang
        assert all(set(r.countries) <= set(countries().countries) for r in table.coherence.regional), lang


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("Können Sie mir Ihre Kundennummer schicken?", "Sie"),
        ("Ihre Bestellung ist unterwegs.", "Sie"),
        ("Schick mir bitte ein Foto davon.", "du"),
        ("Kannst du das in der App prüfen?", "du"),
    ],
)
def test_german_lines_are_read_as_du_or_sie(text, form):
    assert fit.address_marks(text, "de") == {form}
    other = DE_DU if form == "Sie" else DE_SIE
    assert not fit.fits(text, other, speaker=True)
    assert fit.fits(text, other, speaker=False)  # a customer addresses the bot as they like


def test_a_neutral_line_fits_both_forms_and_a_prompt_can_prescribe_one():
    assert fit.address_marks("Die Lieferung dauert 3 Tage.", "de") == set()
    assert fit.prescribed_form("Service-Bot {business}. Duze die Kunden.", "de") == "du"
    assert fit.prescribed_form("Sprich die Fluggäste mit Sie an.", "de") == "Sie"
    assert fit.prescribed_form("Du bist der Assistent von {business}.", "de") is None
    drawn = {fit.draw_address(random.Random(seed), "de") for seed in range(40)}
    assert drawn == {"du", "Sie"} and fit.draw_address(random.Random(0), "en") is None


def test_regional_greetings_fit_only_their_countries():
    au, ng = Setting("en", "bank", "AU", "AUD"), Setting("en", "bank", "NG", "NGN")
    assert fit.fits("G'day {name}! How can we help?", au, speaker=True)
    assert not fit.fits("G'day {name}! How can we help?", ng, speaker=True)
    assert not fit.fits("Grüezi, wie kann ich helfen?", DE_DU, speaker=True)
    assert fit.fits("Grüezi, wie kann ich helfen?", Setting("de", "bank", "CH", "CHF", "Sie"), speaker=True)


def test_money_in_a_line_must_be_the_business_currency():
    assert fit.currencies_of("ich soll 600 euro nachzahlen") == [frozenset({"EUR"})]
    ch = Setting("de", "utilities", "CH", "CHF")
    assert not fit.fits("ich soll 600 euro nachzahlen", ch, speaker=False)
    assert fit.fits("ich soll 600 euro nachzahlen", ch, speaker=False, priced=False)  # a general task
    mx = Setting("es", "gym", "MX", "MXN")
    assert fit.fits("la clase cuesta $150", mx, speaker=True)  # "$" is the peso's sign too
    # no price: an Excel reference, an order number
    assert fit.currencies_of("fija la fila y la columna con $A$1") == []
    assert fit.currencies_of("pedido R7179301") == []


def test_glue_speaking_of_orders_fits_only_businesses_with_orders():
    line = "Is this about your recent order or something else?"
    assert fit.fits_domain(line, Setting("en", "grocery", "UK", "GBP"))
    assert not fit.fits_domain(line, Setting("en", "insurance", "UK", "GBP"))
    assert fit.fits_domain("Hi! How can I help today?", Setting("en", "insurance", "UK", "GBP"))


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ("Hi {name}! How can I help?", "Hi! How can I help?"),
        ("Thanks for holding, {name}. I can see it.", "Thanks for holding. I can see it."),
        ("{name}, verifiquei aqui e já resolvi.", "Verifiquei aqui e já resolvi."),
        ("Hallo {name}, hier ist {agent}.", "Hallo, hier ist {agent}."),
        ("Mesa para 6 a nombre de {name} ✅", "Mesa para 6 a nombre de {name} ✅"),  # needs the name
    ],
)
def test_a_name_that_only_addresses_the_customer_can_be_dropped(text, dropped):
    assert fit.drop_name(text) == dropped
