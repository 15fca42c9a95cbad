"""The fragment linter flags bot variants that don't answer every user variant (rules month, kin, day,
time, number-echo, no-shared-word) and general requests that name a specific kind of business (rule
business-hook)."""

from __future__ import annotations

import pytest

from datagen.coherence import business_hooks, content_words, family_findings
from datagen.fragments import Exchange


def rules(findings, severity=None):
    return [f.rule for f in findings if severity is None or f.severity == severity]


def test_content_words_drop_slots_stopwords_and_accents():
    words = content_words("Oi, quero atualizar o cartão do pedido {order_id} pra {date}", "pt-BR")
    assert words == {"atual", "carta", "pedid"}  # 5-letter stems; "oi", "quero", "pra" are stopwords


def test_a_bot_date_in_another_month_than_the_user_asked_is_an_error():
    user = ["kann ich den vertrag ab 25. mai umstellen?", "tarifwechsel zum 1. mai bitte"]
    bad = family_findings("de/business/telecom/x", user, ["Ab 25. April gilt der neue Tarif."], (), "de")
    assert rules(bad, "error") == ["month", "month"]
    assert "Ab 25. April" in str(bad[0]) and "de/business/telecom/x" in str(bad[0])
    good = family_findings(
        "de/business/telecom/x",
        ["ab {date} bitte umstellen"],
        ["Erledigt, ab {date} gilt der neue Tarif."],
        (),
        "de",
    )
    assert rules(good, "error") == []


def test_a_bot_confirming_a_slot_for_a_value_the_user_wrote_out_is_an_error():
    # the slot would be filled with another date than "25. mai": the user line needs the slot
    user = ["kann ich den vertrag ab 25. mai umstellen?", "tarifwechsel zum {date} bitte"]
    found = family_findings(
        "de/business/telecom/x", user, ["Erledigt, ab {date} gilt der neue Tarif."], (), "de"
    )
    assert [(f.severity, f.rule) for f in found] == [("error", "slot-echo")] and "user[0]" in found[0].message
    amount = family_findings(
        "pt-BR/business/x/y", ["recarreguei R$ 20 e nada"], ["Sua recarga de {amount} caiu."], (), "pt-BR"
    )
    assert rules(amount, "error") == ["slot-echo"]


def test_only_user_variants_no_bot_variant_answers_are_reported():
    # the generator pairs "25. mai" with the May reply and "1. juni" with the June one
    user = ["ab 25. mai bitte", "ab 1. juni bitte"]
    bot = ["Ab 25. Mai gilt der neue Tarif.", "Ab 1. Juni gilt der neue Tarif."]
    assert family_findings("de/business/telecom/x", user, bot, (), "de") == []
    assert rules(family_findings("de/business/telecom/x", [*user, "ab 3. juli"], bot, (), "de")) == ["month"]


def test_may_as_a_verb_is_not_a_month():
    user = ["may i change my flight on 3 june?"]
    assert (
        rules(family_findings("w", user, ["Yes, you may change it until 2 June."], (), "en"), "error") == []
    )
    assert rules(family_findings("w", user, ["Changed to 3 May ✅"], (), "en"), "error") == ["month"]


def test_a_bot_naming_another_relative_than_the_user_is_an_error():
    user = ["mi mamá va en silla de ruedas", "necesito silla de ruedas para mi abuela"]
    bad = family_findings("es/business/airline/a", user, ["Registré la asistencia para tu mamá."], (), "es")
    assert rules(bad, "error") == ["kin"]  # only the abuela variant is contradicted
    neutral = family_findings(
        "es/business/airline/a", user, ["Registré la asistencia para tu familiar."], (), "es"
    )
    assert rules(neutral, "error") == []


def test_followups_are_checked_against_their_own_user_lines():
    followups = (Exchange(user=("i paid on 3 march",), bot=("Your payment of 3 April arrived.",)),)
    found = family_findings("en/business/bank/f", ["where is my payment"], ["Let me check."], followups, "en")
    assert [f.where for f in found if f.severity == "error"] == ["en/business/bank/f followup[0]"]


def test_a_bot_variant_sharing_no_word_with_the_users_is_a_warning_only_if_a_sibling_does():
    user = ["mudei o cartão, como atualizo?", "quero trocar o cartao do seguro"]
    found = family_findings(
        "pt", user, ["Atualize o cartão em {url}.", "Boleto disponível em {url}."], (), "pt-BR"
    )
    assert [(f.severity, f.rule) for f in found] == [("warning", "no-shared-word")]
    assert "bot[1]" in found[0].message
    # when no bot variant shares a word (synonyms), nothing can be compared: no warning
    assert family_findings("pt", user, ["Feito ✅"], (), "pt-BR") == []


def test_a_bot_that_repeats_one_user_variants_numbers_is_a_warning():
    user = ["100 dollar in euro", "wie viel sind 50 pfund in euro"]
    found = family_findings("de/general/x", user, ["50 Pfund sind ungefähr 58 Euro."], (), "de")
    assert rules(found) == ["number-echo"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "since i'm flying with you to dubai, what should i see"),
        ("en", "sorry i know you're a bank lol but how do you say hi in zulu"),
        ("en", "the shirt i bought from you is fine but how do i get wine out"),
        ("de", "ihr seid ja eine bank, aber ganz allgemein: was ist ein etf"),
        ("pt-BR", "vcs são um banco né, me explica juros compostos"),
        ("es", "ya que estamos, me haces el plan de qué ver en roma?"),
    ],
)
def test_general_requests_naming_a_business_type_are_errors(lang, text):
    found = business_hooks(f"{lang}/general/x/y", ["a neutral first variant", text], lang)
    assert [(f.severity, f.rule) for f in found] == [("error", "business-hook")]
    assert "user[1]" in found[0].message


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "{business} random one, i'm off to dubai soon, what should i see there"),
        ("en", "should i keep my savings in a bank or invest them"),  # a bank as topic, not as addressee
        ("de", "was ist der unterschied zwischen bank und sparkasse"),
        ("es", "sé que no es lo suyo, pero me haces el plan de qué ver en roma?"),
    ],
)
def test_business_neutral_general_requests_pass(lang, text):
    assert business_hooks(f"{lang}/general/x/y", [text], lang) == []


def test_a_bot_offering_another_day_than_the_user_asked_for_is_a_warning():
    user = ["samstag vormittag", "morgen nach 17 uhr"]
    found = family_findings("de/business/beauty_salon/x", user, ["Morgen 17:30 ist frei."], (), "de")
    assert rules(found) == ["day"]
    # "Guten Morgen" is no day, and the weekly rule "montags" answers "montag"
    assert (
        family_findings("w", ["guten morgen, habt ihr montag offen"], ["Montags ist Ruhetag."], (), "de")
        == []
    )


def _domain(families, products=(), plans=()):
    from datagen.fragments import BusinessFamily, Domain

    fams = tuple(
        BusinessFamily(f"en/business/pharmacy/f{i}", f"f{i}", "exchange", u, b, ())
        for i, (u, b) in enumerate(families)
    )
    return Domain("en", "pharmacy", ("Boots",), tuple(products), tuple(plans), (), fams)


def test_a_bot_filling_product_for_a_product_the_user_named_in_words_is_an_error():
    from datagen.coherence import product_slot_findings

    products = ("paracetamol 500mg", "blood pressure monitor", "cetirizine 10mg")
    bad = _domain(
        [(("how do i use the blood pressure monitor i bought",), ("Here's how to use your {product}:",))],
        products,
    )
    found = product_slot_findings(bad)
    assert [(f.severity, f.rule) for f in found] == [("error", "product-slot")]
    assert "blood pressure monitor" in found[0].message
    good = _domain(
        [
            (("how do i use the {product} i bought",), ("Here's how to use your {product}:",)),
            (
                ("how do i use the blood pressure monitor",),
                ("Here's how to use your blood pressure monitor:",),
            ),
            (
                ("is my order ready",),
                ("Your {product} is ready for pickup.",),
            ),  # named by the bot, not the user
        ],
        products,
    )
    assert product_slot_findings(good) == []


def test_a_bot_that_needs_a_name_nobody_gave_is_a_warning():
    from datagen.coherence import name_findings

    needs = _domain([(("table for 6 on friday",), ("Booked under {name} ✅",))])
    assert [(f.severity, f.rule) for f in name_findings(needs)] == [("warning", "name")]
    vocative = _domain([(("table for 6 on friday",), ("Booked, {name}! See you Friday.",))])
    given = _domain([(("table for 6 on friday, name {name}",), ("Booked under {name} ✅",))])
    assert name_findings(vocative) == [] and name_findings(given) == []
