"""Coherence rules for fragment families (review P1-6, P1-9), used by `python -m data.fragments_check`.

The generator samples a family's `user:` and `bot:` variants independently, so every bot variant must
answer every user variant. These rules look for the pairs that probably don't fit:

* errors (precise, fail the check):
  - `month`: a bot variant gives a date (day + month) in another month than a user variant names
    ("ab 25. mai" -> "Ab 25. April"); a bare month name is only a `month` warning;
  - `kin`: in business families and small talk, a bot variant names "your <relative>" and the user
    variant names another one ("para mi abuela" -> "para tu mamá");
  - `business-hook`: a general request addresses a specific kind of business ("since i'm flying with
    you", "ihr seid ja eine bank") or refers back to an earlier exchange ("ya que estamos") although
    general families are sampled for every domain and as the first message.
* warnings (heuristic, review by hand):
  - `no-shared-word`: a bot variant shares no content word with any user variant of its family while
    another bot variant does;
  - `number-echo`: a bot variant repeats the numbers of one user variant but not another's
    ("50 Pfund sind 58 Euro" answering "100 dollar in euro");
  - `day`: a bot variant names another weekday (or today/tomorrow) than a user variant;
  - `time`: a bot variant states a clock time while a user variant states a different one;
  - `smalltalk-context`: a small-talk user line reacts to something the bot never showed ("cute").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from training.datagen.fragments import LanguageFragments

SLOT = re.compile(r"\{[a-z_]+\}")
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
STEM_LEN = 5  # crude stemming: "entregam"/"entregamos", "deduct"/"deducting" compare equal
MIN_WORD = 3

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and for you your are was were with this that have has can could would will what when where "
        "how why who which not but all any our out get got just like want need please thanks thank hello "
        "hey there here from into about also yes yeah okay its it's i'm im dont don't does did then than "
        "them they their some more one two very much know sure let help still now today tomorrow".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer und oder aber ich du sie wir ihr mir mich dir "
        "dich uns euch ist sind war bin bist hat habe haben kann können könnt kannst wie was wann wo warum "
        "wer mit für von bei auf aus zum zur nach noch schon auch nicht nur mal gerne bitte danke hallo "
        "moin hey ihnen ihre ihr eure euer mein meine dein deine sich gibt geht gut ganz sehr jetzt heute "
        "morgen dann wenn dass also doch denn hier da ja nein".split()
    ),
    "pt-BR": frozenset(
        "que com para pra por uma uns umas dos das nos nas não nao sim meu minha seu sua vocês voces vcs "
        "você voce eles elas ele ela isso esse essa este esta aqui ali tem ter tenho está esta estou "
        "como quando onde qual quais quero queria pode posso mais muito obrigado obrigada olá ola oi bom "
        "boa dia tarde noite hoje amanhã amanha ainda já agora então entao tudo todo toda sobre também "
        "tambem vocês".split()
    ),
    "es": frozenset(
        "que con para por una unos unas los las del nos les mis tus sus mío mía tuyo usted ustedes "
        "este esta esto ese esa eso aquí aqui tiene tengo tienen está esta estoy como cuando donde "
        "cual cuál quiero quería puede puedo más mas muy gracias hola buenos buenas día dia tarde "
        "noche hoy mañana todavía ya ahora entonces todo toda sobre también tambien pero".split()
    ),
}


def _numbered(names: str) -> dict[str, int]:
    return {name: number for number, name in enumerate(names.split(), start=1)}


MONTHS: dict[str, dict[str, int]] = {
    "en": _numbered("january february march april may june july august september october november december"),
    "de": _numbered("januar februar märz april mai juni juli august september oktober november dezember"),
    "pt-BR": _numbered(
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
    ),
    "es": _numbered(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
    ),
}
# "may" and "march" are also verbs in English: only count them next to a day number.
AMBIGUOUS_MONTHS = {"en": {"may", "march"}, "de": set(), "pt-BR": set(), "es": set()}

# Relatives, grouped so that spelling variants of the same person compare equal.
KIN: dict[str, dict[str, str]] = {
    "en": {
        "mom": "mother",
        "mum": "mother",
        "mother": "mother",
        "dad": "father",
        "father": "father",
        "grandma": "grandmother",
        "granny": "grandmother",
        "grandmother": "grandmother",
        "grandpa": "grandfather",
        "grandfather": "grandfather",
        "wife": "wife",
        "husband": "husband",
        "son": "son",
        "daughter": "daughter",
        "sister": "sister",
        "brother": "brother",
        "girlfriend": "girlfriend",
        "boyfriend": "boyfriend",
    },
    "de": {
        "mama": "mother",
        "mutter": "mother",
        "papa": "father",
        "vater": "father",
        "oma": "grandmother",
        "großmutter": "grandmother",
        "opa": "grandfather",
        "großvater": "grandfather",
        "frau": "wife",
        "ehefrau": "wife",
        "mann": "husband",
        "ehemann": "husband",
        "sohn": "son",
        "tochter": "daughter",
        "schwester": "sister",
        "bruder": "brother",
        "freundin": "girlfriend",
        "freund": "boyfriend",
    },
    "pt-BR": {
        "mãe": "mother",
        "mae": "mother",
        "mamãe": "mother",
        "pai": "father",
        "papai": "father",
        "avó": "grandmother",
        "vó": "grandmother",
        "vovó": "grandmother",
        "avô": "grandfather",
        "vô": "grandfather",
        "vovô": "grandfather",
        "esposa": "wife",
        "marido": "husband",
        "filho": "son",
        "filha": "daughter",
        "irmã": "sister",
        "irmão": "brother",
        "namorada": "girlfriend",
        "namorado": "boyfriend",
    },
    "es": {
        "mamá": "mother",
        "mama": "mother",
        "madre": "mother",
        "papá": "father",
        "padre": "father",
        "abuela": "grandmother",
        "abuelita": "grandmother",
        "abuelo": "grandfather",
        "esposa": "wife",
        "mujer": "wife",
        "marido": "husband",
        "esposo": "husband",
        "hijo": "son",
        "hija": "daughter",
        "hermana": "sister",
        "hermano": "brother",
        "novia": "girlfriend",
        "novio": "boyfriend",
    },
}
# German "Frau"/"Mann"/"Freund" are also "Ms"/"man"/"friend"; only count them after a possessive.
KIN_NEEDS_POSSESSIVE = {"de": {"frau", "mann", "freund", "freundin"}, "es": {"mujer"}}
POSSESSIVES = {
    "de": (
        "meine",
        "meiner",
        "meinen",
        "meinem",
        "mein",
        "deine",
        "deiner",
        "deinen",
        "ihre",
        "ihrer",
        "ihren",
        "ihrem",
        "ihr",
        "deinem",
        "dein",
    ),
    "es": ("mi", "tu", "su"),
}
# The bot talks about the user's relative only after "your": "para tu mamá" answering "para mi abuela".
# Mentions without it ("ambos padres", "the mother") are general text, not a contradiction.
YOUR = {
    "en": ("your", "ur", "yr"),
    "de": ("deine", "deiner", "deinen", "deinem", "dein", "ihre", "ihrer", "ihren", "ihrem", "ihr"),
    "pt-BR": ("seu", "sua", "teu", "tua"),
    "es": ("tu", "tus"),
}  # es "su" is also "his"

# Days the user asks about; "morgen"/"mañana" also mean "morning", so only their unambiguous uses count.
DAYS: dict[str, dict[str, str]] = {
    "en": {
        **{d: d for d in "monday tuesday wednesday thursday friday saturday sunday".split()},
        "today": "today",
        "tonight": "today",
        "tomorrow": "tomorrow",
    },
    "de": {
        **{d: d for d in "montag dienstag mittwoch donnerstag freitag samstag sonntag".split()},
        "heute": "today",
        "morgen": "tomorrow",
    },
    "pt-BR": {
        "segunda": "monday",
        "terça": "tuesday",
        "terca": "tuesday",
        "quarta": "wednesday",
        "quinta": "thursday",
        "sexta": "friday",
        "sábado": "saturday",
        "sabado": "saturday",
        "domingo": "sunday",
        "hoje": "today",
        "hj": "today",
        "amanhã": "tomorrow",
        "amanha": "tomorrow",
    },
    "es": {
        "lunes": "monday",
        "martes": "tuesday",
        "miércoles": "wednesday",
        "miercoles": "wednesday",
        "jueves": "thursday",
        "viernes": "friday",
        "sábado": "saturday",
        "sabado": "saturday",
        "domingo": "sunday",
        "hoy": "today",
        "mañana": "tomorrow",
        "manana": "tomorrow",
    },
}
NOT_A_DAY = {
    "de": r"(guten|heute|morgen) morgen|morgens",
    "es": r"(la|las|esta|por la|de la) mañana",
    "en": r"$^",
    "pt-BR": r"$^",
}

CLOCK = re.compile(r"\b([01]?\d|2[0-3])(?::([0-5]\d)|\s?h\b|\s?uhr\b|\s?(am|pm)\b)", re.IGNORECASE)
TIME_CONTEXT = re.compile(r"\b(à|às|as|a las|a la|um|at|ab|pra|para las|para as)\s*$", re.IGNORECASE)

_BUSINESS_TYPES_EN = (
    r"bank|airline|hotel|gym|pharmacy|clinic|shop|store|insurer|insurance company|telco|"
    r"phone company|supermarket|restaurant|cinema|university|streaming service"
)
BUSINESS_HOOKS: dict[str, tuple[str, ...]] = {
    "en": (
        r"\b(flying|fly|flown|travell?ing|staying|banking|booked) with (you|u|ya)\b",
        rf"\b(you'?re|you are|ur|u r|youre) (a|an|the) ({_BUSINESS_TYPES_EN})\b",
        r"\b(your|ur) (bank|airline|gym|hotel|pharmacy|clinic|flights?|planes?|insurance|supermarket|"
        r"restaurant|cinema|university|shop|store)\b",
        r"\bwhile we'?re at it\b",
        r"\b(check|about|track|got) my order\b|\b(order|ordered|bought) (\w+ )?(from|with) (you|u)\b|"
        r"\b(booked|rented|hired) (a |the )?\w+ with (you|u)\b|\b(your|ur) (delivery|order)\b",
    ),
    "de": (
        r"\b(fliege|flieg|fliegen|flug|reise|wohne|übernachte)\w* (ich )?(mit|bei) euch\b",
        r"\b(ihr seid|sie sind|du bist) (ja |doch |halt |zwar |eh )*(eine?|ein|die|der) "
        r"(bank|airline|fluggesellschaft|hotel|apotheke|klinik|praxis|versicherung|fitnessstudio|gym|"
        r"supermarkt|restaurant|kino|uni|universität)\b",
        r"\beure[rnms]? (bank|airline|apotheke|fitnessstudio|hotel|praxis|versicherung|flüge|flugzeuge)\b",
        r"\bwo wir (schon |gerade |grad )?dabei sind\b",
        r"\bmeine[rn]? (bestellung|lieferung|buchung)\b|\beure (lieferung|bestellung)\b",
    ),
    "pt-BR": (
        r"\b(voando|voo|vou voar|viajando|hospedad[oa]) com (vocês|voces|vcs|vc)\b",
        r"\b(vocês|voces|vcs|vc) (são|sao|é|e) (um|uma|o|a) (banco|companhia aérea|companhia aerea|"
        r"hotel|academia|farmácia|farmacia|clínica|clinica|seguradora|loja|mercado|restaurante|cinema)\b",
        r"\bj[áa] que estamos\b|\baproveitando a conversa\b",
        r"\bmeu (pedido|voo|extrato|boleto)\b|\bminha (entrega|fatura)\b",
    ),
    "es": (
        r"\b(vuelo|volando|viajo|viajando|alojad[oa]) con (ustedes|vosotros|vos)\b",
        r"\b(ustedes son|sois|son) (un|una|el|la) (banco|aerolínea|aerolinea|hotel|gimnasio|farmacia|"
        r"clínica|clinica|aseguradora|tienda|súper|supermercado|restaurante|cine)\b",
        r"\bya que estamos\b|^\W*otra cosa\b|^\W*ya que estoy\W*,",
        r"\b(estoy|ando) en (el|la|tu|su) (gym|gimnasio|banco|hotel|aeropuerto|farmacia|clínica|clinica)\b",
        r"\bmi (pedido|vuelo|envío|envio|factura)\b",
    ),
}
# Small talk is inserted anywhere, so a user line may not react to something only some bot turns show.
SMALLTALK_REACTIONS: dict[str, tuple[str, ...]] = {
    "en": (r"^\W*(so )?(cute|adorable|aww+)\W*$", r"\bemojis?\b", r"\bsticker\b"),
    "de": (r"^\W*(süß|wie süß|niedlich|ooh+ süß)\W*$", r"\bemojis?\b", r"\bsticker\b"),
    "pt-BR": (r"^\W*(que )?(fofo|fofa|fofinho|lindo|linda)\W*$", r"\bemojis?\b", r"\bfigurinha\b"),
    "es": (r"^\W*(qué |que )?(lindo|linda|mono|mona|cuqui|tierno)\W*$", r"\bemojis?\b", r"\bsticker\b"),
}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def _fold(text: str) -> str:
    """Lowercase without accents: users often drop them ("mae", "cartao")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_words(text: str, lang: str) -> set[str]:
    """Stems of the words that carry meaning: no slots, no stopwords, no short words."""
    stop = {_fold(w) for w in STOPWORDS[lang]}
    words = (_fold(w) for w in WORD.findall(SLOT.sub(" ", text)))
    return {w[:STEM_LEN] for w in words if len(w) >= MIN_WORD and w not in stop}


def months_in(text: str, lang: str, *, dated_only: bool = False) -> set[int]:
    """Months named in a text; with dated_only, only as part of a date with a day ("ab 25. April")."""
    low = text.lower()
    found = set()
    for name, number in MONTHS[lang].items():
        if dated_only or name in AMBIGUOUS_MONTHS[lang]:
            pattern = (
                rf"(\b\d{{1,2}}(st|nd|rd|th|\.|º)?\s+(of\s+|de\s+)?{name}\b"
                rf"|\b{name}\s+\d{{1,2}}(st|nd|rd|th)?\b)"
            )
        else:
            pattern = rf"\b{name}\b"
        if re.search(pattern, low):
            found.add(number)
    return found


def kin_in(text: str, lang: str, *, your_only: bool = False) -> set[str]:
    """Relatives named in a text; with your_only, only those after a second-person possessive."""
    low = text.lower()
    needs = KIN_NEEDS_POSSESSIVE.get(lang, set())
    found = set()
    for word, person in KIN[lang].items():
        if your_only:
            pattern = rf"(?<!\w)({'|'.join(YOUR[lang])})\s+{word}(?!\w)"
        elif word in needs:
            pattern = rf"(?<!\w)({'|'.join(POSSESSIVES[lang])})\s+{word}(?!\w)"
        else:
            pattern = rf"(?<!\w){word}(?!\w)"
        if re.search(pattern, low):
            found.add(person)
    return found


def days_in(text: str, lang: str) -> set[str]:
    """Weekdays and today/tomorrow named in a text."""
    low = re.sub(NOT_A_DAY[lang], " ", text.lower())
    # plural/adverb forms ("domingos", "montags", "sundays") are the regular weekly rule and count too
    return {day for word, day in DAYS[lang].items() if re.search(rf"(?<!\w){word}s?(?!\w)", low)}


def clock_times(text: str) -> set[int]:
    """Hours of the clock times in a text ("13:00", "13h", "7 uhr", "7pm"), in 24h."""
    hours = set()
    for m in CLOCK.finditer(text):
        hour = int(m.group(1))
        if (m.group(3) or "").lower() == "pm" and hour < 12:
            hour += 12
        hours.add(hour)
    return hours


def _pairs(where: str, user: Sequence[str], bot: Sequence[str], lang: str) -> Iterable[Finding]:
    """All checks of one user/bot exchange (a family's opening pair or one followup)."""
    user_words = set().union(*(content_words(u, lang) for u in user))
    bot_words = [content_words(b, lang) for b in bot]
    answering = [i for i, bw in enumerate(bot_words) if bw & user_words]
    if answering:
        for i, bw in enumerate(bot_words):
            if not bw & user_words:
                yield Finding(
                    "warning",
                    "no-shared-word",
                    where,
                    f"bot[{i}] {_short(bot[i])!r} shares no word with any user variant"
                    f" (bot[{answering[0]}] does): does it answer them all?",
                )
    yield from _echoed_numbers(where, user, bot)
    for j, u in enumerate(user):
        u_months, u_kin, u_hours = months_in(u, lang), kin_in(u, lang), clock_times(u)
        for i, b in enumerate(bot):
            b_dated = months_in(b, lang, dated_only=True)
            if u_months and b_dated - u_months:
                yield Finding(
                    "error",
                    "month",
                    where,
                    f"bot[{i}] {_short(b)!r} dates another month than user[{j}] {_short(u)!r}:"
                    " echo a {date} slot or drop the date",
                )
            elif u_months and months_in(b, lang) - u_months:
                yield Finding(
                    "warning",
                    "month",
                    where,
                    f"bot[{i}] {_short(b)!r} names another month than user[{j}] {_short(u)!r}",
                )
            b_kin = kin_in(b, lang, your_only=True)
            if u_kin and b_kin - u_kin:
                yield Finding(
                    "error",
                    "kin",
                    where,
                    f"bot[{i}] {_short(b)!r} names another person than user[{j}] {_short(u)!r}:"
                    " write the bot reply without the relative or split the family",
                )
            u_days, b_days = days_in(u, lang), days_in(b, lang)
            if u_days and b_days and not b_days & u_days:
                yield Finding(
                    "warning",
                    "day",
                    where,
                    f"bot[{i}] {_short(b)!r} names another day than user[{j}] {_short(u)!r}",
                )
            b_hours = clock_times(b)
            if u_hours and b_hours and not b_hours & u_hours:
                yield Finding(
                    "warning",
                    "time",
                    where,
                    f"bot[{i}] {_short(b)!r} states another time than user[{j}] {_short(u)!r}",
                )


NUMBER = re.compile(r"(?<![\w{])\d+(?:[.,]\d+)?")


def _echoed_numbers(where: str, user: Sequence[str], bot: Sequence[str]) -> Iterable[Finding]:
    """A bot variant that repeats the numbers of one user variant answers that variant only:
    "50 Pfund sind 58 Euro" after "100 dollar in euro"."""
    user_numbers = [set(NUMBER.findall(SLOT.sub(" ", u))) for u in user]
    for i, b in enumerate(bot):
        b_numbers = set(NUMBER.findall(SLOT.sub(" ", b)))
        echoed = [j for j, un in enumerate(user_numbers) if un and un <= b_numbers]
        if not echoed:
            continue
        others = [k for k, un in enumerate(user_numbers) if un and not un & b_numbers]
        if others:
            yield Finding(
                "warning",
                "number-echo",
                where,
                f"bot[{i}] {_short(b)!r} repeats the numbers of user[{echoed[0]}] "
                f"{_short(user[echoed[0]])!r} but not those of user[{others[0]}] "
                f"{_short(user[others[0]])!r}: split the family or answer generally",
            )


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def family_findings(
    where: str, user: Sequence[str], bot: Sequence[str], followups: Sequence, lang: str
) -> list[Finding]:
    out = list(_pairs(where, user, bot, lang))
    for k, ex in enumerate(followups):
        out.extend(_pairs(f"{where} followup[{k}]", ex.user, ex.bot, lang))
    return out


# A general answer performs the task (a letter signed "your son", a role-played grandfather), so its
# words and relatives needn't echo the request; dates and times still must.
GENERAL_SKIPS = frozenset({"no-shared-word", "kin"})


def business_hooks(where: str, user: Sequence[str], lang: str) -> list[Finding]:
    out = []
    for j, u in enumerate(user):
        for pattern in BUSINESS_HOOKS[lang]:
            m = re.search(pattern, u, re.IGNORECASE)
            if m:
                out.append(
                    Finding(
                        "error",
                        "business-hook",
                        where,
                        f"user[{j}] {_short(u)!r} says {m.group(0)!r}: general families are sampled for"
                        " every domain and as first message; write it business-neutral"
                        ' ("{business}, not really your thing, but…") or drop it',
                    )
                )
                break
    return out


def smalltalk_findings(frag: LanguageFragments) -> list[Finding]:
    out = []
    for pair in frag.glue.smalltalk:
        for j, u in enumerate(pair.user):
            if any(re.search(p, u.strip(), re.IGNORECASE) for p in SMALLTALK_REACTIONS[frag.lang]):
                out.append(
                    Finding(
                        "warning",
                        "smalltalk-context",
                        pair.uid,
                        f"user[{j}] {u!r} reacts to something the bot never showed",
                    )
                )
        out.extend(family_findings(pair.uid, pair.user, pair.bot, (), frag.lang))
    return out


def coherence_findings(frag: LanguageFragments) -> list[Finding]:
    """Every P1-6/P1-9 finding of one language, families in file order."""
    out: list[Finding] = []
    for domain in frag.domains.values():
        for fam in domain.families:
            out.extend(family_findings(fam.uid, fam.user, fam.bot, fam.followups, frag.lang))
    for category in frag.categories.values():
        for fam in category.families:
            out.extend(business_hooks(fam.uid, fam.user, frag.lang))
            out.extend(
                f
                for f in family_findings(fam.uid, fam.user, fam.bot, fam.followups, frag.lang)
                if f.rule not in GENERAL_SKIPS
            )
    out.extend(smalltalk_findings(frag))
    return out
