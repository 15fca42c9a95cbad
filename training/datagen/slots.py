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
from dataclasses import dataclass

from training.datagen.fragments import SLOT_PATTERN

NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "Emma",
        "Liam",
        "Olivia",
        "Noah",
        "Amelia",
        "Jack",
        "Sophie",
        "Harry",
        "Chloe",
        "Ryan",
        "Megan",
        "Jason",
        "Priya",
        "Tom",
        "Grace",
        "Kevin",
        "Aisha",
        "Daniel",
        "Zoe",
        "Marcus",
    ),
    "de": (
        "Lukas",
        "Anna",
        "Jonas",
        "Lea",
        "Felix",
        "Marie",
        "Paul",
        "Hannah",
        "Tim",
        "Laura",
        "Jan",
        "Sophie",
        "Niklas",
        "Julia",
        "Mehmet",
        "Katrin",
        "Stefan",
        "Sabine",
        "Yusuf",
        "Lena",
    ),
    "pt-BR": (
        "João",
        "Maria",
        "Pedro",
        "Ana",
        "Lucas",
        "Juliana",
        "Gabriel",
        "Fernanda",
        "Rafael",
        "Camila",
        "Thiago",
        "Larissa",
        "Bruno",
        "Beatriz",
        "Matheus",
        "Patrícia",
        "Diego",
        "Aline",
        "Caio",
        "Bia",
    ),
    "es": (
        "Lucía",
        "Hugo",
        "Martina",
        "Mateo",
        "Sofía",
        "Pablo",
        "Valentina",
        "Diego",
        "Carmen",
        "Javier",
        "Paula",
        "Alejandro",
        "Daniela",
        "Sergio",
        "Camila",
        "Andrés",
        "Marta",
        "Luis",
        "Elena",
        "Iker",
    ),
}


@dataclass(frozen=True)
class Country:
    """Where a business operates: its currency, cities, web domains and phone numbers."""

    currency: str
    cities: tuple[str, ...]
    tlds: tuple[str, ...]
    phones: tuple[str, ...]
    decimal_comma: bool = False


# currency -> (symbol, factor from base units, display styles); one style is fixed per conversation
CURRENCIES: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "GBP": ("£", 1, ("{s}{v}",)),
    "USD": ("$", 1, ("{s}{v}", "{s}{v}", "USD {v}")),
    "AUD": ("$", 1.5, ("{s}{v}", "A{s}{v}", "AUD {v}")),
    "INR": ("₹", 80, ("{s}{v}", "Rs. {v}", "INR {v}")),
    "NGN": ("₦", 1500, ("{s}{v}", "NGN {v}", "N{v}")),
    "ZAR": ("R", 18, ("{s}{v}", "{s} {v}")),
    "EUR": ("€", 1, ("{v} {s}", "{v}{s}", "{v} EUR")),
    "CHF": ("CHF", 1, ("{s} {v}", "{v} {s}")),
    "BRL": ("R$", 5, ("{s} {v}", "{s}{v}")),
    "MXN": ("$", 18, ("{s}{v} MXN", "{s}{v}")),
    "ARS": ("$", 1000, ("{s}{v}", "ARS {v}")),
    "COP": ("$", 4000, ("{s}{v}", "COP {v}")),
}
COUNTRIES: dict[str, Country] = {
    "UK": Country(
        "GBP",
        ("London", "Manchester", "Leeds", "Bristol", "Glasgow", "Birmingham", "Cardiff", "Liverpool"),
        (".co.uk", ".com"),
        ("+44 7{d3} {d3}{d3}", "07{d3} {d3} {d3}"),
    ),
    "US": Country(
        "USD",
        ("New York", "Chicago", "Austin", "Seattle", "Atlanta", "Denver", "Phoenix", "Boston"),
        (".com",),
        ("(555) {d3}-{d4}", "+1 555 {d3} {d4}"),
    ),
    "IN": Country(
        "INR",
        ("Mumbai", "Delhi", "Bengaluru", "Pune", "Chennai", "Hyderabad", "Kolkata", "Jaipur"),
        (".in", ".co.in", ".com"),
        ("+91 98{d3} {d2}{d3}", "09{d4}{d3}"),
    ),
    "NG": Country(
        "NGN",
        ("Lagos", "Abuja", "Port Harcourt", "Ibadan", "Enugu", "Kano", "Benin City"),
        (".com.ng", ".ng", ".com"),
        ("+234 803 {d3} {d4}", "0805 {d3} {d4}"),
    ),
    "ZA": Country(
        "ZAR",
        ("Johannesburg", "Cape Town", "Durban", "Pretoria", "Gqeberha", "Bloemfontein", "Sandton"),
        (".co.za", ".com"),
        ("+27 82 {d3} {d4}", "072 {d3} {d4}"),
    ),
    "AU": Country(
        "AUD",
        ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Canberra", "Gold Coast"),
        (".com.au", ".com"),
        ("+61 4{d2} {d3} {d3}", "04{d2} {d3} {d3}"),
    ),
    "DE": Country(
        "EUR",
        ("Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Leipzig", "Dresden", "Bremen"),
        (".de", ".com"),
        ("+49 15{d2} {d4}{d3}", "0171 {d4}{d3}", "030 {d4} {d2}"),
        decimal_comma=True,
    ),
    "AT": Country(
        "EUR",
        ("Wien", "Graz", "Linz", "Salzburg", "Innsbruck"),
        (".at", ".com"),
        ("+43 664 {d3}{d4}", "0660 {d3} {d4}"),
        decimal_comma=True,
    ),
    "CH": Country(
        "CHF",
        ("Zürich", "Bern", "Basel", "Luzern", "St. Gallen"),
        (".ch", ".com"),
        ("+41 79 {d3} {d2} {d2}", "076 {d3} {d2} {d2}"),
    ),
    "BR": Country(
        "BRL",
        (
            "São Paulo",
            "Rio de Janeiro",
            "Belo Horizonte",
            "Curitiba",
            "Porto Alegre",
            "Salvador",
            "Recife",
            "Fortaleza",
            "Florianópolis",
            "Campinas",
            "Goiânia",
            "Manaus",
        ),
        (".com.br", ".com"),
        ("(11) 9{d4}-{d4}", "+55 21 9{d4}-{d4}", "(31) 9{d4}-{d4}"),
        decimal_comma=True,
    ),
    "ES": Country(
        "EUR",
        ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza", "Granada"),
        (".es", ".com"),
        ("+34 6{d2} {d3} {d3}", "6{d2} {d2} {d2} {d2}"),
        decimal_comma=True,
    ),
    "MX": Country(
        "MXN",
        ("Ciudad de México", "Guadalajara", "Monterrey", "Puebla", "Querétaro", "Mérida"),
        (".com.mx", ".mx", ".com"),
        ("+52 55 {d4} {d4}", "33 {d4} {d4}"),
    ),
    "AR": Country(
        "ARS",
        ("Buenos Aires", "Córdoba", "Rosario", "Mendoza", "La Plata"),
        (".com.ar", ".com"),
        ("+54 9 11 {d4}-{d4}", "11 {d4}-{d4}"),
        decimal_comma=True,
    ),
    "CO": Country(
        "COP",
        ("Bogotá", "Medellín", "Cali", "Barranquilla", "Cartagena"),
        (".com.co", ".co", ".com"),
        ("+57 3{d2} {d3} {d4}", "3{d2} {d3} {d4}"),
        decimal_comma=True,
    ),
}
# a business whose domain file names no country operates in its language's home market
DEFAULT_COUNTRY: dict[str, str] = {"en": "UK", "de": "DE", "pt-BR": "BR", "es": "ES"}
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
MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "pt-BR": (
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
URL_PATHS: dict[str, tuple[str, ...]] = {
    "en": ("track", "help", "account", "orders", "p", "r", "s", "app", "link", "go", "info"),
    "de": ("sendung", "hilfe", "konto", "bestellung", "p", "r", "s", "app", "link", "service", "info"),
    "pt-BR": ("rastreio", "ajuda", "minha-conta", "pedido", "p", "r", "s", "app", "link", "info"),
    "es": ("seguimiento", "ayuda", "cuenta", "pedido", "p", "r", "s", "app", "link", "info"),
}


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
    symbol, factor, styles = CURRENCIES[currency or COUNTRIES[country].currency]
    value *= factor
    if factor >= 10:  # rupees, naira, rand, pesos: whole amounts, rounded like real price tags
        step = 10 ** max(0, len(str(int(value))) - 2)
        whole = f"{max(step, round(value / step) * step):,}"
    else:
        whole = f"{value:,.2f}" if cents else f"{round(value):,}"
    if COUNTRIES[country].decimal_comma:
        whole = _swap_separators(whole)
    return styles[style % len(styles)].format(v=whole, s=symbol)


def format_date(rng: random.Random, lang: str, style: int) -> str:
    """A date in the conversation's one format (`style` is fixed per conversation)."""
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    name = MONTHS[lang][month - 1]
    choices = {
        "en": (f"{day}/{month:02d}", f"{name} {day}", f"{day} {name}", f"{month}/{day}"),
        "de": (f"{day:02d}.{month:02d}.", f"{day}.{month}.2026", f"{day}. {name}"),
        "pt-BR": (f"{day:02d}/{month:02d}", f"{day} de {name}", f"{day}/{month}"),
        "es": (f"{day}/{month:02d}", f"{day} de {name}", f"{day:02d}/{month:02d}/2026"),
    }[lang]
    return choices[style % len(choices)]


def format_time(rng: random.Random, lang: str) -> str:
    """A bare clock time: the fragments write the article themselves ("a las {time}", "um {time}")."""
    hour, minute = rng.randint(7, 21), rng.choice((0, 15, 30, 45, 10, 20, 40, 50))
    if lang == "en":
        return rng.choice(
            (f"{(hour - 1) % 12 + 1}:{minute:02d}{'am' if hour < 12 else 'pm'}", f"{hour}:{minute:02d}")
        )
    if lang == "de":
        return rng.choice((f"{hour}:{minute:02d} Uhr", f"{hour}:{minute:02d}", f"{hour} Uhr"))
    if lang == "pt-BR":
        return rng.choice((f"{hour}h{minute:02d}", f"{hour}:{minute:02d}", f"{hour}h"))
    return f"{hour}:{minute:02d}"


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
        self.country = country or DEFAULT_COUNTRY[lang]
        if self.country not in COUNTRIES:
            raise ValueError(
                f"business {business!r}: unknown country {self.country!r} ({', '.join(COUNTRIES)})"
            )
        self.currency = currency or COUNTRIES[self.country].currency
        self.amount_range = DOMAIN_AMOUNT_RANGE.get(domain or "", AMOUNT_RANGE)
        self.date_style = rng.randrange(12)
        self.money_style = rng.randrange(12)
        self.cents = rng.random() < 0.7
        self.tld = rng.choice(COUNTRIES[self.country].tlds)

    def _fixed(self, name: str) -> str:
        if name not in self.fixed:
            self.fixed[name] = self._draw(name)
        return self.fixed[name]

    def _draw(self, name: str) -> str:
        rng, lang = self.rng, self.lang
        if name in ("name", "agent"):
            pool = [n for n in NAMES[lang] if n != self.fixed.get("name")]
            return rng.choice(pool)
        if name == "order_id":
            return format_order_id(rng)
        if name == "ticket":
            return format_ticket(rng)
        if name == "phone":
            fmt = rng.choice(COUNTRIES[self.country].phones)
            return fmt.format(d2=_digits(rng, 2), d3=_digits(rng, 3), d4=_digits(rng, 4))
        if name == "city":
            return rng.choice(COUNTRIES[self.country].cities)
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
        return f"https://{host}{self.domain_slug}{self.tld}/{rng.choice(URL_PATHS[self.lang])}/{tail}"

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
