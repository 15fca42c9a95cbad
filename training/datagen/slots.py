"""Fill fragment slots ({order_id}, {amount}, {date}, ...) with language-appropriate random values.

Identity slots (customer name, agent, order id, ticket, phone, city, product, plan) keep one value per
conversation, as in a real chat; the others (amount, date, time, url) are drawn at each use.
"""

from __future__ import annotations

import random
import re
import unicodedata

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
CITIES: dict[str, tuple[str, ...]] = {
    "en": (
        "London",
        "Manchester",
        "Leeds",
        "Bristol",
        "Glasgow",
        "Dublin",
        "New York",
        "Chicago",
        "Austin",
        "Toronto",
        "Lisbon",
        "Barcelona",
        "Rome",
        "Paris",
        "Berlin",
    ),
    "de": (
        "Berlin",
        "Hamburg",
        "München",
        "Köln",
        "Frankfurt",
        "Stuttgart",
        "Leipzig",
        "Dresden",
        "Wien",
        "Zürich",
        "Mallorca",
        "Rom",
        "Paris",
        "Istanbul",
        "Bremen",
    ),
    "pt-BR": (
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
        "Lisboa",
        "Buenos Aires",
        "Orlando",
        "Goiânia",
        "Manaus",
    ),
    "es": (
        "Madrid",
        "Barcelona",
        "Valencia",
        "Sevilla",
        "Bilbao",
        "Málaga",
        "Zaragoza",
        "Ciudad de México",
        "Guadalajara",
        "Bogotá",
        "Lima",
        "Santiago",
        "Buenos Aires",
        "Granada",
        "París",
    ),
}
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
TLDS: dict[str, tuple[str, ...]] = {
    "en": (".com", ".co.uk", ".com"),
    "de": (".de", ".de", ".com"),
    "pt-BR": (".com.br", ".com.br", ".com"),
    "es": (".es", ".com", ".com.mx"),
}
URL_PATHS = (
    "track",
    "ajuda",
    "help",
    "p",
    "r",
    "s",
    "app",
    "link",
    "go",
    "minha-conta",
    "konto",
    "cuenta",
    "info",
)
PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "en": ("+44 7{d3} {d3}{d3}", "07{d3} {d3} {d3}", "(555) {d3}-{d4}"),
    "de": ("+49 15{d2} {d4}{d3}", "0171 {d4}{d3}", "030 {d4} {d2}"),
    "pt-BR": ("(11) 9{d4}-{d4}", "+55 21 9{d4}-{d4}", "(31) 9{d4}-{d4}"),
    "es": ("+34 6{d2} {d3} {d3}", "6{d2} {d2} {d2} {d2}", "+52 55 {d4} {d4}"),
}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", text) or "shop"


def format_amount(rng: random.Random, lang: str) -> str:
    value = rng.choice((rng.uniform(1, 60), rng.uniform(10, 300), rng.uniform(100, 2500)))
    cents = rng.random() < 0.7
    whole = f"{value:,.2f}" if cents else f"{round(value):,}"
    if lang == "en":
        return rng.choice(("£", "$", "€")) + whole
    swapped = whole.replace(",", "_").replace(".", ",").replace("_", ".")
    if lang == "de":
        return rng.choice((f"{swapped} €", f"{swapped}€", f"{swapped} EUR"))
    if lang == "pt-BR":
        return rng.choice((f"R$ {swapped}", f"R${swapped}"))
    return rng.choice((f"{swapped} €", f"{swapped}€", f"${swapped} MXN"))


def format_date(rng: random.Random, lang: str) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    name = MONTHS[lang][month - 1]
    choices = {
        "en": (f"{day}/{month:02d}", f"{name} {day}", f"{day} {name}", f"{month}/{day}"),
        "de": (f"{day:02d}.{month:02d}.", f"{day}.{month}.2026", f"{day}. {name}"),
        "pt-BR": (f"{day:02d}/{month:02d}", f"{day} de {name}", f"{day}/{month}"),
        "es": (f"{day}/{month:02d}", f"{day} de {name}", f"{day:02d}/{month:02d}/2026"),
    }[lang]
    return rng.choice(choices)


def format_time(rng: random.Random, lang: str) -> str:
    hour, minute = rng.randint(7, 21), rng.choice((0, 15, 30, 45, 10, 20, 40, 50))
    if lang == "en":
        return rng.choice(
            (f"{(hour - 1) % 12 + 1}:{minute:02d}{'am' if hour < 12 else 'pm'}", f"{hour}:{minute:02d}")
        )
    if lang == "de":
        return rng.choice((f"{hour}:{minute:02d} Uhr", f"{hour}:{minute:02d}", f"{hour} Uhr"))
    return (
        rng.choice((f"{hour}h{minute:02d}", f"{hour}:{minute:02d}", f"{hour}h"))
        if lang == "pt-BR"
        else rng.choice((f"{hour}:{minute:02d}", f"las {hour}:{minute:02d}"))
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
    """Fills slots for one conversation; values come from `rng`, identity slots stay fixed."""

    def __init__(
        self,
        rng: random.Random,
        lang: str,
        business: str,
        products: tuple[str, ...] = (),
        plans: tuple[str, ...] = (),
    ) -> None:
        self.rng = rng
        self.lang = lang
        self.fixed: dict[str, str] = {"business": business}
        self.products = products
        self.plans = plans
        self.domain_slug = _slug(business)

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
            fmt = rng.choice(PHONE_FORMATS[lang])
            return fmt.format(d2=_digits(rng, 2), d3=_digits(rng, 3), d4=_digits(rng, 4))
        if name == "city":
            return rng.choice(CITIES[lang])
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
        return f"https://{host}{self.domain_slug}{rng.choice(TLDS[self.lang])}/{rng.choice(URL_PATHS)}/{tail}"

    def value(self, name: str, topic: str | None = None) -> str | None:
        if name == "topic":
            return topic
        if name == "amount":
            return format_amount(self.rng, self.lang)
        if name == "date":
            return format_date(self.rng, self.lang)
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

        return SLOT_PATTERN.sub(replace, text)
