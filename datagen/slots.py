"""Fill fragment slots ({order_id}, {amount}, {date}, ...) with language-appropriate random values.

Identity slots (customer name, agent, order id, ticket, phone, city, product, plan) keep one value per
conversation, as in a real chat; the others (amount, date, time, url) are drawn at each use, in the
conversation's one format and the business's country (currency, cities, web domain, phone numbers).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata

from datagen.fragments import SLOT_PATTERN
from datagen.tables import countries, tables

# base-unit price range of a plain {amount} per domain (fees, tickets, parcels); {amount_large} is for
# what a family marks as expensive (rent, tuition, a package holiday)
AMOUNT_RANGE: tuple[float, float] = (2, 300)
DOMAIN_AMOUNT_RANGE: dict[str, tuple[float, float]] = {
    "real_estate": (20, 1500),
    "university_admissions": (10, 800),
    "travel_agency": (20, 900),
    "furniture_store": (15, 900),
    "airline": (10, 500),
    "car_rental": (10, 400),
    "hotel": (15, 400),
}
LARGE_AMOUNT_RANGE: tuple[float, float] = (300, 3000)


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
    ) -> None:
        self.rng = rng
        self.lang = lang
        self.fixed: dict[str, str] = {"business": business}
        self.products = products
        self.plans = plans
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

    def amount(self, large: bool = False) -> str:
        low, high = LARGE_AMOUNT_RANGE if large else self.amount_range
        value = amount_value(self.rng, low, high)
        return format_amount(self.rng, self.country, value, self.money_style, self.cents, self.currency)

    def value(self, name: str, topic: str | None = None) -> str | None:
        if name == "topic":
            return topic
        if name in ("amount", "amount_large"):
            return self.amount(large=name == "amount_large")
        if name == "date":
            return format_date(self.rng, self.lang, self.date_style)
        if name == "time":
            return format_time(self.rng, self.lang)
        if name == "url":
            return self.url()
        if name in ("business", "name", "agent", "order_id", "ticket", "phone", "city", "product", "plan"):
            return self._fixed(name)
        return None  # not a slot: leave the braces as written (code, maths)

    def fill(self, text: str, topic: str | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.value(match.group(1), topic)
            return match.group(0) if value is None else value

        # "the {business}" with a business called "The Courier Guy"
        return _DOUBLE_THE.sub(r"\1", SLOT_PATTERN.sub(replace, text))
