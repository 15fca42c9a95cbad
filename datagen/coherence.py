"""Coherence rules for fragment families, used by `scopeguard data check` and by the generator.

A family lists `user:` and `bot:` variants. The pair rules below say whether a bot variant answers a user
variant; the generator only pairs a user variant with a bot variant that does (`pair_problem`), so a
mismatch written in a family never reaches the data. The check reports what is left to fix: a user
variant that no bot variant of its exchange answers (the generator never uses it).

* pair rules (a finding names the rule of the first bot variant that fails):
  - `month` (error): the bot gives a date in another month than the user names ("ab 25. mai" -> "Ab 25.
    April"); `month-name` (warning): it names another month without a day;
  - `kin` (error): in business families and small talk, the bot names "your <relative>" and the user
    another one ("para mi abuela" -> "para tu mamá");
  - `slot-echo` (error): the user gives a date, time or amount as written text and the bot confirms a
    {date}, {time} or {amount} slot: it would confirm another value ("recargué 100" -> "tu recarga de
    {amount}"); write the user's value as the slot, the bot repeats it;
  - `number-echo`, `day`, `time` (warnings): the bot repeats the numbers of another user variant
    ("50 Pfund sind 58 Euro" answering "100 dollar in euro"), names another weekday or today/tomorrow,
    states another clock time.
* family rules:
  - `product-slot` (error): the user names a product or plan in words ("the blood pressure monitor i
    bought") and the bot refers to it as {product}/{plan}, which is filled with any of the domain's
    ("your cetirizine 10mg");
  - `name` (warning): a bot variant needs the customer's name ("booked under {name}") although no user
    variant of the family gives it: the generator uses it only once the customer has given their name;
  - `business-hook` (error): a general request addresses a specific kind of business ("since i'm flying
    with you", "ihr seid ja eine bank") or refers back to an earlier exchange ("ya que estamos") although
    general families are sampled for every domain and as the first message;
  - `no-shared-word` (warning): a bot variant shares no content word with any user variant of its
    family while another bot variant does;
  - `smalltalk-context` (warning): a small-talk user line reacts to something the bot never showed ("cute").
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from datagen.fit import currencies_of, drop_name
from datagen.fragments import Domain, LanguageFragments
from datagen.tables import tables

SLOT = re.compile(r"\{[a-z_]+\}")
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
STEM_LEN = 5  # crude stemming: "entregam"/"entregamos", "deduct"/"deducting" compare equal
MIN_WORD = 3

CLOCK = re.compile(r"\b([01]?\d|2[0-3])(?::([0-5]\d)|\s?h\b|\s?uhr\b|\s?(am|pm)\b)", re.IGNORECASE)


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


@cache
def _folded_stopwords(lang: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in tables(lang).coherence.stopwords)


@cache
def _months(lang: str) -> dict[str, int]:
    """Month name (lowercase, from the language's slot months) -> its number."""
    return {name.lower(): number for number, name in enumerate(tables(lang).slots.months, start=1)}


def content_words(text: str, lang: str) -> set[str]:
    """Stems of the words that carry meaning: no slots, no stopwords, no short words."""
    stop = _folded_stopwords(lang)
    words = (_fold(w) for w in WORD.findall(SLOT.sub(" ", text)))
    return {w[:STEM_LEN] for w in words if len(w) >= MIN_WORD and w not in stop}


def months_in(text: str, lang: str, *, dated_only: bool = False) -> set[int]:
    """Months named in a text; with dated_only, only as part of a date with a day ("ab 25. April")."""
    low = text.lower()
    found = set()
    ambiguous = tables(lang).coherence.ambiguous_months
    for name, number in _months(lang).items():
        if dated_only or name in ambiguous:
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
    table = tables(lang).coherence
    found = set()
    for word, person in table.kin.items():
        if your_only:
            pattern = rf"(?<!\w)({'|'.join(table.your)})\s+{word}(?!\w)"
        elif word in table.kin_needs_possessive:
            pattern = rf"(?<!\w)({'|'.join(table.possessives)})\s+{word}(?!\w)"
        else:
            pattern = rf"(?<!\w){word}(?!\w)"
        if re.search(pattern, low):
            found.add(person)
    return found


def days_in(text: str, lang: str) -> set[str]:
    """Weekdays and today/tomorrow named in a text."""
    table = tables(lang).coherence
    low = re.sub(table.not_a_day, " ", text.lower())
    # plural/adverb forms ("domingos", "montags", "sundays") are the regular weekly rule and count too
    return {day for word, day in table.days.items() if re.search(rf"(?<!\w){word}s?(?!\w)", low)}


def clock_times(text: str) -> set[int]:
    """Hours of the clock times in a text ("13:00", "13h", "7 uhr", "7pm"), in 24h."""
    hours = set()
    for m in CLOCK.finditer(text):
        hour = int(m.group(1))
        if (m.group(3) or "").lower() == "pm" and hour < 12:
            hour += 12
        hours.add(hour)
    return hours


PRECISE = frozenset({"month", "kin", "slot-echo"})  # pair rules whose findings are errors
DATED = re.compile(r"\b\d{1,2}/\d{1,2}\b|\b\d{1,2}\.\d{1,2}\.")  # "14/3", "14.03."
SLOT_KINDS = {"date": ("{date}",), "time": ("{time}",), "amount": ("{amount}", "{amount_large}")}


@cache
def pair_problem(
    user: str, bot: str, lang: str, users: tuple[str, ...], *, general: bool = False
) -> str | None:
    """The rule a bot variant breaks when it answers this user variant (one of `users`, its family's
    variants), or None when it answers it. General answers perform a task (a letter signed "your son"),
    so their relatives needn't echo the request."""
    u_months = months_in(user, lang)
    if u_months and months_in(bot, lang, dated_only=True) - u_months:
        return "month"
    if u_months and months_in(bot, lang) - u_months and not general:
        return "month-name"  # a general answer may name other months ("dry season: April to October")
    if not general and (u_kin := kin_in(user, lang)) and kin_in(bot, lang, your_only=True) - u_kin:
        return "kin"
    if (literal := _literal_kind(user, bot, lang)) is not None:
        return literal
    u_days, b_days = days_in(user, lang), days_in(bot, lang)
    if u_days and b_days and not b_days & u_days:
        return "day"
    u_hours, b_hours = clock_times(user), clock_times(bot)
    if u_hours and b_hours and not b_hours & u_hours:
        return "time"
    if _echoes_another(user, bot, users):
        return "number-echo"
    return None


def _literal_kind(user: str, bot: str, lang: str) -> str | None:
    """ "slot-echo" when the user writes a date, time or amount out and the bot confirms one as a slot."""
    written = {
        "date": bool(DATED.search(user) or months_in(user, lang, dated_only=True)),
        "time": bool(clock_times(SLOT.sub(" ", user))),
        "amount": bool(currencies_of(user)),
    }
    for kind, slots in SLOT_KINDS.items():
        if written[kind] and any(s in bot for s in slots) and not any(s in user for s in slots):
            return "slot-echo"
    return None


def _numbers(text: str) -> frozenset[str]:
    return frozenset(NUMBER.findall(SLOT.sub(" ", text)))


def _echoes_another(user: str, bot: str, users: tuple[str, ...]) -> bool:
    """The bot repeats all numbers of another user variant and none of this one's."""
    mine, said = _numbers(user), _numbers(bot)
    if not mine or mine & said:
        return False
    return any((theirs := _numbers(u)) and theirs <= said for u in users if u != user)


def _pairs(
    where: str, user: Sequence[str], bot: Sequence[str], lang: str, *, general: bool = False
) -> Iterable[Finding]:
    """All checks of one user/bot exchange (a family's opening pair or one followup)."""
    if not general:
        yield from _unshared(where, user, bot, lang)
    users = tuple(user)
    for j, u in enumerate(user):
        problems = [pair_problem(u, b, lang, users, general=general) for b in bot]
        if all(problems):
            rule = problems[0] or ""
            yield Finding(
                "error" if rule in PRECISE else "warning",
                rule,
                where,
                f"no bot variant answers user[{j}] {_short(u)!r} (bot[0] {_short(bot[0])!r}: {rule}):"
                " the generator never uses it; write a bot variant for it or split the family",
            )


def _unshared(where: str, user: Sequence[str], bot: Sequence[str], lang: str) -> Iterable[Finding]:
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


NUMBER = re.compile(r"(?<![\w{])\d+(?:[.,]\d+)?")


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def family_findings(
    where: str,
    user: Sequence[str],
    bot: Sequence[str],
    followups: Sequence,
    lang: str,
    *,
    general: bool = False,
) -> list[Finding]:
    """The pair rules and no-shared-word over a family's opening exchange and each followup. A general
    answer performs the task, so its words and relatives needn't echo the request (`general`)."""
    out = list(_pairs(where, user, bot, lang, general=general))
    for k, ex in enumerate(followups):
        out.extend(_pairs(f"{where} followup[{k}]", ex.user, ex.bot, lang, general=general))
    return out


def business_hooks(where: str, user: Sequence[str], lang: str) -> list[Finding]:
    out = []
    for j, u in enumerate(user):
        for pattern in tables(lang).coherence.business_hooks:
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
            if any(
                re.search(p, u.strip(), re.IGNORECASE)
                for p in tables(frag.lang).coherence.smalltalk_reactions
            ):
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
    """Every coherence finding of one language (all rules above), families in file order."""
    out: list[Finding] = []
    for domain in frag.domains.values():
        for fam in domain.families:
            out.extend(family_findings(fam.uid, fam.user, fam.bot, fam.followups, frag.lang))
        out.extend(product_slot_findings(domain))
        out.extend(name_findings(domain))
    offers = [f for offer in frag.offers.values() for f in offer.families]
    for general in [f for category in frag.categories.values() for f in category.families] + offers:
        # offer exchanges are read under other businesses' profiles too: their requests stay neutral
        out.extend(business_hooks(general.uid, general.user, frag.lang))
        out.extend(
            family_findings(
                general.uid, general.user, general.bot, general.followups, frag.lang, general=True
            )
        )
    out.extend(smalltalk_findings(frag))
    return out


def _words(text: str, lang: str) -> set[str]:
    """Whole words (no stems: "standing" is no "Standard"), singular by a dropped final s."""
    stop = _folded_stopwords(lang)
    words = (_fold(w) for w in WORD.findall(SLOT.sub(" ", text)))
    return {w.removesuffix("s") for w in words if len(w) >= MIN_WORD and w not in stop}


def _item_words(items: Sequence[str], lang: str) -> list[tuple[str, set[str]]]:
    """Each product or plan with the words that tell it from the others ("card" names two of them)."""
    words = [_words(item, lang) for item in items]
    counts = Counter(w for ws in words for w in ws)
    return [(item, {w for w in ws if counts[w] == 1}) for item, ws in zip(items, words, strict=True)]


def _named_items(text: str, items: list[tuple[str, set[str]]], lang: str) -> list[str]:
    said = _words(text, lang)
    return [item for item, words in items if words & said]


def product_slot_findings(domain: Domain) -> list[Finding]:
    """`product-slot`: a bot variant refers to what the customer named in words as {product} or {plan}."""
    out: list[Finding] = []
    for fam in domain.families:
        asked: list[str] = []
        for k, (user, bot) in enumerate([(fam.user, fam.bot)] + [(e.user, e.bot) for e in fam.followups]):
            asked += user
            where = fam.uid if k == 0 else f"{fam.uid} followup[{k - 1}]"
            for slot, items in (("{product}", domain.products), ("{plan}", domain.plans)):
                out.extend(_product_slot(where, slot, items, asked, bot, domain.lang))
    return out


def _product_slot(
    where: str, slot: str, items: Sequence[str], asked: Sequence[str], bot: Sequence[str], lang: str
) -> Iterable[Finding]:
    replies = [i for i, b in enumerate(bot) if slot in b]
    if not replies or len(items) < 2:
        return
    words = _item_words(items, lang)
    for u in asked:
        named = _named_items(u, words, lang)
        if named and slot not in u:
            yield Finding(
                "error",
                "product-slot",
                where,
                f"user {_short(u)!r} names {named[0]!r} in words but bot[{replies[0]}]"
                f" {_short(bot[replies[0]])!r} fills {slot} with any of the domain's: write what the user"
                f" named, or {slot} in the user line",
            )
            return


def name_findings(domain: Domain) -> list[Finding]:
    """`name`: a bot variant that needs the customer's name in a family where the customer gives none."""
    out = []
    for fam in domain.families:
        exchanges = [(fam.user, fam.bot)] + [(e.user, e.bot) for e in fam.followups]
        if any("{name}" in u for user, _ in exchanges for u in user):
            continue
        for k, (_, bot) in enumerate(exchanges):
            for i, b in enumerate(bot):
                if "{name}" in drop_name(b):
                    where = fam.uid if k == 0 else f"{fam.uid} followup[{k - 1}]"
                    out.append(
                        Finding(
                            "warning",
                            "name",
                            where,
                            f"bot[{i}] {_short(b)!r} needs the customer's name, which no user variant"
                            " gives: used only once the customer has given it earlier",
                        )
                    )
    return out
