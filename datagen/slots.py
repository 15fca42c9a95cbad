"""Fill fragment slots ({order_id}, {amount}, {date}, ...) with language-appropriate random values.

Identity slots (customer name, agent, order id, ticket, phone, city, product, plan) keep one value per
conversation, as in a real chat; the others (amount, date, time, url) are drawn at each use, in the
conversation's one format and the business's country (currency, cities, web domain, phone numbers).

A reply repeats what the other side said: the builder passes the dates, times and amounts of the
message being answered (``echo``), and a reply's k-th {date} is the k-th date it answers ("move my
flight to 14 May" -> "On 14 May there are seats at ..."). A drawn amount is priced by what it is the
price of: the product or plan just before it (``prices``), else the words around it (the language's
``amount_cues``: "delivery fee of {amount}", "{amount}/night"), else the business's domain.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache

from datagen.fragments import SLOT_PATTERN
from datagen.tables import countries, tables

Bounds = tuple[float, float]
# base-unit range of a plain {amount} per domain, when neither a product nor the words around it tell
# what it prices: what one charge, fee or refund of such a business typically comes to. {amount_large}
# is for what a family marks as expensive (rent, tuition, a package holiday).
AMOUNT_RANGE: Bounds = (3, 150)
DOMAIN_AMOUNT_RANGE: dict[str, Bounds] = {
    "airline": (30, 400),
    "bank": (10, 500),
    "beauty_salon": (10, 120),
    "bike_shop": (10, 600),
    "bookstore": (5, 40),
    "cafe": (2, 15),
    "car_rental": (20, 400),
    "cinema": (5, 40),
    "clinic": (20, 200),
    "driving_school": (30, 600),
    "electronics_repair": (20, 300),
    "electronics_retail": (20, 900),
    "events_ticketing": (15, 150),
    "fashion_ecommerce": (10, 150),
    "food_delivery": (3, 50),
    "furniture_store": (30, 1200),
    "garden_centre": (3, 80),
    "grocery": (2, 80),
    "gym": (10, 80),
    "hotel": (50, 400),
    "insurance": (20, 600),
    "insurance_broker_auto": (20, 150),
    "language_school": (20, 400),
    "meal_kits": (10, 80),
    "museum": (5, 30),
    "music_streaming": (4, 20),
    "online_course": (10, 300),
    "optician": (20, 400),
    "parcel_delivery": (3, 60),
    "pet_shop": (3, 80),
    "pharmacy": (3, 60),
    "public_services": (5, 120),
    "real_estate": (50, 1500),
    "restaurant": (5, 80),
    "saas": (5, 150),
    "streaming": (4, 25),
    "telecom": (5, 80),
    "tour_operator": (20, 500),
    "travel_agency": (50, 1500),
    "university_admissions": (20, 800),
    "utilities": (20, 250),
}
LARGE_AMOUNT_RANGE: Bounds = (300, 3000)
# a price stands right after what it prices ("iPhone 15: £899", "Pacote Gramado por R$ 2.400")
PRICE_REACH = 60
CUE_REACH = 40
# slot -> what it says: a reply echoes the values of the same kind ({amount_large} answers {amount} too)
ECHO_KINDS: dict[str, str] = {"date": "date", "time": "time", "amount": "amount", "amount_large": "amount"}


_DOUBLE_THE = re.compile(r"\b(the) The\b", re.IGNORECASE)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", text) or "shop"


def _swap_separators(whole: str) -> str:
    return whole.replace(",", "_").replace(".", ",").replace("_", ".")


def amount_value(rng: random.Random, low: float, high: float) -> float:
    """Log-uniform in [low, high]: most prices are small, a few reach the top of the range."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def format_amount(
    rng: random.Random, country: str, value: float, style: int, cents: bool, currency: str | None = None
) -> str:
    """`value` in base units (about one euro/dollar), shown in the country's currency and habit."""
    where = countries().countries[country]
    money = countries().currencies[currency or where.currency]
    symbol, factor, styles = money.symbol, money.factor, money.styles
    value *= factor
    if factor >= 10:  # rupees, naira, rand, pesos: whole amounts, rounded like real price tags
        step = 10 ** max(0, len(str(int(value))) - 2)
        whole = f"{max(step, round(value / step) * step):,}"
    else:
        whole = f"{value:,.2f}" if cents else f"{round(value):,}"
    if where.decimal_comma:
        whole = _swap_separators(whole)
    return styles[style % len(styles)].format(v=whole, s=symbol)


_OTHER_AMOUNT = re.compile(r"\{amount(_large)?\}")


@cache
def _cues(lang: str) -> tuple[tuple[re.Pattern[str], Bounds], ...]:
    return tuple(
        (re.compile(c.pattern, re.IGNORECASE), (c.low, c.high)) for c in tables(lang).slots.amount_cues
    )


def cue_bounds(text: str, start: int, end: int, lang: str) -> Bounds | None:
    """The range the words around an {amount} slot (text[start:end]) give it, if a cue matches."""
    before, after = (
        _OTHER_AMOUNT.sub("#", part)
        for part in (text[max(0, start - CUE_REACH) : start], text[end : end + CUE_REACH])
    )
    window = (
        f"{before}{{amount}}{after}"  # other amounts are not this one ("fee {amount}, room {amount}/night")
    )
    for cue, bounds in _cues(lang):
        if cue.search(window):
            return bounds
    return None


def format_date(rng: random.Random, lang: str, style: int) -> str:
    """A date in the conversation's one format (`style` is fixed per conversation)."""
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    table = tables(lang).slots
    formats = table.date_formats
    return formats[style % len(formats)].format(day=day, month=month, name=table.months[month - 1])


def format_time(rng: random.Random, lang: str) -> str:
    """A bare clock time: the fragments write the article themselves ("a las {time}", "um {time}").

    A language with one time format uses it without a random draw.
    """
    hour, minute = rng.randint(7, 21), rng.choice((0, 15, 30, 45, 10, 20, 40, 50))
    formats = tables(lang).slots.time_formats
    template = formats[0] if len(formats) == 1 else rng.choice(formats)
    return template.format(
        hour=hour, hour12=(hour - 1) % 12 + 1, ampm="am" if hour < 12 else "pm", minute=minute
    )


def format_order_id(rng: random.Random) -> str:
    return rng.choice(
        (
            f"#{_digits(rng, 6)}",
            _digits(rng, rng.choice((5, 7, 9))),
            f"{rng.choice('ABCDKMPRSTW')}{_digits(rng, 7)}",
            f"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
            f"PED{_digits(rng, 6)}",
            f"#{_digits(rng, 4)}",
        )
    )


def format_ticket(rng: random.Random) -> str:
    return rng.choice(
        (
            f"TK-{_digits(rng, 6)}",
            f"#{_digits(rng, 8)}",
            f"CAS-{_digits(rng, 5)}-{rng.choice('ABCXYZ')}{_digits(rng, 2)}",
            f"{_digits(rng, 10)}",
            f"INC{_digits(rng, 7)}",
            f"SR {_digits(rng, 6)}",
        )
    )


class SlotFiller:
    """Fills slots for one conversation; values come from `rng`, identity slots stay fixed.

    The business's country fixes currency, city list, web domain and phone format; the conversation
    fixes one date format and one money format, so a chat never mixes "£" and "€" or "7 May" and "05/07".
    """

    def __init__(
        self,
        rng: random.Random,
        lang: str,
        business: str,
        products: tuple[str, ...] = (),
        plans: tuple[str, ...] = (),
        *,
        country: str | None = None,
        currency: str | None = None,
        domain: str | None = None,
        prices: Mapping[str, Bounds] | None = None,
    ) -> None:
        self.rng = rng
        self.lang = lang
        self.fixed: dict[str, str] = {"business": business}
        self.products = products
        self.plans = plans
        self.prices = dict(prices or {})  # product or plan -> its price range in base units
        self.said: dict[str, list[str]] = {}  # values of the last fill by kind (ECHO_KINDS), in order
        self.domain_slug = _slug(business)
        self.country = country or tables(lang).slots.default_country
        known = countries().countries
        if self.country not in known:
            raise ValueError(f"business {business!r}: unknown country {self.country!r} ({', '.join(known)})")
        self.currency = currency or known[self.country].currency
        self.amount_range = DOMAIN_AMOUNT_RANGE.get(domain or "", AMOUNT_RANGE)
        self.date_style = rng.randrange(12)
        self.money_style = rng.randrange(12)
        self.cents = rng.random() < 0.7
        self.tld = rng.choice(known[self.country].tlds)

    def _fixed(self, name: str) -> str:
        if name not in self.fixed:
            self.fixed[name] = self._draw(name)
        return self.fixed[name]

    def _draw(self, name: str) -> str:
        rng, lang = self.rng, self.lang
        if name in ("name", "agent"):
            pool = [n for n in tables(lang).slots.names if n != self.fixed.get("name")]
            return rng.choice(pool)
        if name == "order_id":
            return format_order_id(rng)
        if name == "ticket":
            return format_ticket(rng)
        if name == "phone":
            fmt = rng.choice(countries().countries[self.country].phones)
            return fmt.format(d2=_digits(rng, 2), d3=_digits(rng, 3), d4=_digits(rng, 4))
        if name == "city":
            return rng.choice(countries().countries[self.country].cities)
        if name == "product":
            return rng.choice(self.products) if self.products else ""
        if name == "plan":
            return rng.choice(self.plans) if self.plans else ""
        raise KeyError(name)

    def url(self) -> str:
        rng = self.rng
        host = rng.choice(("", "www.", "app.", "m."))
        tail = rng.choice(
            (_digits(rng, 6), "".join(rng.choice("abcdefghkmnpqrstuvwxyz23456789") for _ in range(7)))
        )
        return f"https://{host}{self.domain_slug}{self.tld}/{rng.choice(tables(self.lang).slots.url_paths)}/{tail}"

    def amount(self, bounds: Bounds | None = None) -> str:
        low, high = bounds or self.amount_range
        value = amount_value(self.rng, low, high)
        return format_amount(self.rng, self.country, value, self.money_style, self.cents, self.currency)

    def value(self, name: str, topic: str | None = None) -> str | None:
        if name == "topic":
            return topic
        if name in ("amount", "amount_large"):
            return self.amount(LARGE_AMOUNT_RANGE if name == "amount_large" else None)
        if name == "date":
            return format_date(self.rng, self.lang, self.date_style)
        if name == "time":
            return format_time(self.rng, self.lang)
        if name == "url":
            return self.url()
        if name in ("business", "name", "agent", "order_id", "ticket", "phone", "city", "product", "plan"):
            return self._fixed(name)
        return None  # not a slot: leave the braces as written (code, maths)

    def _written_prices(self, text: str) -> list[tuple[int, Bounds]]:
        """(end, price) of the priced products and plans a line names in words, in order."""
        found = [
            (m.end(), bounds)
            for item, bounds in self.prices.items()
            for m in re.finditer(rf"(?<!\w){re.escape(item)}(?!\w)", text)
        ]
        return sorted(found)

    def _bounds(self, text: str, match: re.Match[str], priced: tuple[int, Bounds] | None) -> Bounds | None:
        """What a drawn {amount} costs: the product or plan just before it, else its cue, else the domain."""
        if match.group(1) == "amount_large":
            return LARGE_AMOUNT_RANGE
        if priced is not None:
            gap = text[priced[0] : match.start()]
            if len(gap) <= PRICE_REACH and "\n" not in gap:
                return priced[1]
        return cue_bounds(text, match.start(), match.end(), self.lang)

    def fill(
        self, text: str, topic: str | None = None, *, echo: Mapping[str, Sequence[str]] | None = None
    ) -> str:
        """Fill the slots of a line; `echo`: values by kind (ECHO_KINDS) the line repeats, first to last."""
        queues = {kind: list(values) for kind, values in (echo or {}).items()}
        said: dict[str, list[str]] = {}
        written = self._written_prices(text)  # "Hoy: carne molida a {amount}/kg" prices it as a slot would
        priced: tuple[int, Bounds] | None = None  # end of the last product/plan with a price, and its price

        def replace(match: re.Match[str]) -> str:
            nonlocal priced, written
            name = match.group(1)
            kind = ECHO_KINDS.get(name)
            if kind is not None and queues.get(kind):
                value: str | None = queues[kind].pop(0)
            elif kind == "amount":
                before = [w for w in written if w[0] <= match.start()]
                if before and (priced is None or before[-1][0] > priced[0]):
                    priced = before[-1]
                value = self.amount(self._bounds(text, match, priced))
                written = [w for w in written if w[0] > match.start()]
                priced = None  # a product has one price; a second amount is something else
            else:
                value = self.value(name, topic)
            if name in ("product", "plan") and value in self.prices:
                priced = (match.end(), self.prices[value])
            if kind is not None and value is not None:
                said.setdefault(kind, []).append(value)
            return match.group(0) if value is None else value

        # "the {business}" with a business called "The Courier Guy"
        filled = _DOUBLE_THE.sub(r"\1", SLOT_PATTERN.sub(replace, text))
        self.said = said
        return filled
