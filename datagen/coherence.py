"""Coherence rules for fragment families, used by `scopeguard data check`.

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
from functools import cache

from datagen.fragments import LanguageFragments
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
    offers = [f for offer in frag.offers.values() for f in offer.families]
    for general in [f for category in frag.categories.values() for f in category.families] + offers:
        # offer exchanges are read under other businesses' profiles too: their requests stay neutral
        out.extend(business_hooks(general.uid, general.user, frag.lang))
        out.extend(
            f
            for f in family_findings(general.uid, general.user, general.bot, general.followups, frag.lang)
            if f.rule not in GENERAL_SKIPS
        )
    out.extend(smalltalk_findings(frag))
    return out
