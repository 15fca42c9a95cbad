"""Which fragment lines fit a conversation: the bot's form of address, and the business's country, domain
and currency.

Fragments are written per language, not per business, so a line may only fit some businesses: a greeting
may be Australian ("G'day"), a line may quote euros, speak of orders or address the customer with
"Sie" while the rest of the chat says "du". A conversation's ``Setting`` names its business's country,
domain, currency and the bot's one form of address; the builder only picks lines that fit it. The
vocabularies are data: the language tables (``address``, ``coherence.regional``,
``coherence.domain_words``) and countries.yaml (currency symbols and words).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from datagen.tables import countries, tables

# Domains a glue line may speak of by group (the language tables hold each group's words): a bot of an
# insurer has no orders to track, a bot of a streaming service no appointments to book.
DOMAIN_GROUPS: dict[str, frozenset[str]] = {
    "orders": frozenset(
        {
            "fashion_ecommerce",
            "food_delivery",
            "grocery",
            "pharmacy",
            "furniture_store",
            "electronics_retail",
            "electronics_repair",
            "pet_shop",
            "parcel_delivery",
            "meal_kits",
            "bookstore",
            "garden_centre",
            "bike_shop",
            "restaurant",
            "cafe",
            "optician",
            "telecom",
            "events_ticketing",
        }
    ),
    "bookings": frozenset(
        {
            "airline",
            "hotel",
            "car_rental",
            "travel_agency",
            "tour_operator",
            "restaurant",
            "cafe",
            "clinic",
            "beauty_salon",
            "driving_school",
            "cinema",
            "events_ticketing",
            "museum",
            "gym",
            "language_school",
            "real_estate",
            "bank",
            "public_services",
            "optician",
            "electronics_repair",
            "pet_shop",
            "bike_shop",
            "university_admissions",
            "insurance_broker_auto",
        }
    ),
}


@dataclass(frozen=True)
class Setting:
    """Where a conversation happens: its business's domain, country and currency, the bot's form of address
    (None: any form, as in a language that has one)."""

    lang: str
    domain: str
    country: str
    currency: str
    address: str | None = None


@cache
def _address_forms(lang: str) -> dict[str, re.Pattern[str]]:
    return {form: re.compile(rx) for form, rx in tables(lang).address.forms.items()}


def address_marks(text: str, lang: str) -> set[str]:
    """The forms of address a line uses ("Können Sie" -> {"Sie"})."""
    return {form for form, rx in _address_forms(lang).items() if rx.search(text)}


def prescribed_form(system_prompt: str, lang: str) -> str | None:
    """The form of address a system prompt tells the bot to use ("Duze die Kunden" -> "du"), if any."""
    for form, rx in tables(lang).address.prescribed.items():
        if re.search(rx, system_prompt, re.IGNORECASE):
            return form
    return None


def draw_address(rng: random.Random, lang: str) -> str | None:
    """The form of address of a conversation's bot, by the language's weights (None: one form only)."""
    weights = {form: w for form, w in tables(lang).address.weights.items() if w > 0}
    if not weights:
        return None
    forms = sorted(weights)
    return rng.choices(forms, weights=[weights[f] for f in forms])[0]


@cache
def _regional(lang: str) -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    return tuple(
        (re.compile(r.pattern, re.IGNORECASE), frozenset(r.countries))
        for r in tables(lang).coherence.regional
    )


def regions_of(text: str, lang: str) -> list[frozenset[str]]:
    """For each regional word in a line, the countries it is said in."""
    return [where for rx, where in _regional(lang) if rx.search(text)]


@cache
def _domain_words(lang: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (group, re.compile(rx, re.IGNORECASE)) for group, rx in tables(lang).coherence.domain_words.items()
    )


def domain_groups_of(text: str, lang: str) -> list[str]:
    """The groups of domains a line speaks of ("track your order" -> ["orders"])."""
    return [group for group, rx in _domain_words(lang) if rx.search(text)]


# a number as prices are written ("1,300", "12.50", "7"), not an order number ("R7179301")
MONEY = r"\d{1,3}(?:[.,\s]\d{3})*(?:[.,]\d{1,2})?(?![\d])"


@cache
def _currency_marks() -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    """(pattern, the currencies it may mean): symbols and codes next to a digit, words after a number.

    "$" is the dollar's and the pesos' symbol alike, so a "$" line fits all of them; "A$1" in an Excel
    formula is no price (a letter before the symbol)."""
    money = countries().currencies
    by_mark: dict[str, set[str]] = {}
    for code, currency in money.items():
        for mark in {currency.symbol, code}:
            sym = re.escape(mark)
            by_mark.setdefault(rf"(?<![\w$]){sym}\s?{MONEY}|\d\s?{sym}(?![\w$])", set()).add(code)
        for style in currency.styles:  # how the generator writes it ("Rs. 2,300", "A$12")
            head, _, tail = style.replace("{s}", currency.symbol).partition("{v}")
            mark = rf"(?<![\w$]){re.escape(head)}{MONEY}" if head else rf"\d{re.escape(tail)}"
            by_mark.setdefault(mark, set()).add(code)
        # words are case-insensitive, symbols and codes not ("R 20" is rand, "r 20" nothing)
        by_mark.setdefault(rf"(?i:\d\s?(?:{currency.words}))", set()).add(code)
    return tuple((re.compile(rx), frozenset(codes)) for rx, codes in sorted(by_mark.items()))


def currencies_of(text: str) -> list[frozenset[str]]:
    """For each way of writing money in a line ("€12", "600 euro", "$5"), the currencies it may mean."""
    return [codes for rx, codes in _currency_marks() if rx.search(text)]


@cache
def fits(text: str, setting: Setting, *, speaker: bool, priced: bool = True) -> bool:
    """Whether a fragment line fits the conversation.

    speaker: the business says it (bot or agent), so its form of address counts; a customer addresses the
        bot as they like. priced: the line is the business's own (support, glue), so money in it is in
        the business's currency; general tasks talk about any currency ("100 dollars in euros").
    """
    if any(setting.country not in where for where in regions_of(text, setting.lang)):
        return False
    if priced and any(setting.currency not in codes for codes in currencies_of(text)):
        return False
    if not speaker or setting.address is None:
        return True  # a customer addresses the bot as they like; the business keeps to one form
    return not address_marks(text, setting.lang) - {setting.address}


@cache
def fits_domain(text: str, setting: Setting) -> bool:
    """A glue line (written for every business) fits the domain only if every group it speaks of holds it."""
    return all(setting.domain in DOMAIN_GROUPS[g] for g in domain_groups_of(text, setting.lang))


# "Hi {name}!", "Thanks, {name}." and "{name}, I checked" address the customer by name in passing: the
# name can go. "booked under {name}" needs it.
_NAME_OPENING = re.compile(r"^(\W*)\{name\}\s*[,!:]\s*")
_NAME_AFTER_COMMA = re.compile(r",\s*\{name\}(?=\s*(?:[!?.,:;)]|$|[^\w\s{]))")
# a one-word opener ("Hi", "Cheers", "Oi") or a two-word greeting ("Good morning", "Guten Tag", "Qué tal")
_TWO_WORD_GREETING = (
    r"good (?:morning|afternoon|evening|day)|(?:hi|hello|hey) there|guten (?:morgen|tag|abend)"
    r"|qu[ée] tal|buen[oa]s (?:d[ií]as|tardes|noches)|bom dia|boa (?:tarde|noite)|happy \w+"
)
_NAME_AFTER_GREETING = re.compile(
    rf"^(\W*(?:{_TWO_WORD_GREETING}|[\w'’]+))\s+\{{name\}}(?=\s*(?:[!?.,:;]|[^\w\s{{]))", re.IGNORECASE
)


@cache
def drop_name(text: str) -> str:
    """A line without the customer's name where the name only addresses them ("Hi {name}!" -> "Hi!");
    a line that needs the name ("booked under {name}") keeps it."""
    out = _NAME_AFTER_COMMA.sub("", text)
    out = _NAME_AFTER_GREETING.sub(r"\1", out)
    opening = _NAME_OPENING.match(out)
    if opening:
        rest = out[opening.end() :]
        out = opening.group(1) + rest[:1].upper() + rest[1:]
    return out
