"""Data-set checks: cross-split duplicates (exact and MinHash near-duplicates), diversity, shares.

Used by tests/data/ and by ``scopeguard data report`` (the numbers in docs/DATA.md).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from typing import Any

import numpy as np

from classifier.render import render_text, render_turn
from classifier.schema import NEGATIVE_LABEL, POSITIVE_LABEL, Conversation
from datagen.coherence import clock_times
from datagen.fit import Setting, address_marks, currencies_of, fits_domain, regions_of
from datagen.flows import OWN_OFFER_FLOWS
from datagen.fragments import SLOTS, TOPIC_SLOT, LanguageFragments
from datagen.tables import countries, tables

_WORD = re.compile(r"\w+")
_MERSENNE = (1 << 61) - 1
LONG_TOKENS = 512


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def normalised_key(conv: Conversation) -> str:
    """Text identity ignoring case, punctuation, whitespace and system turns (exact-duplicate detection)."""
    return " ".join(words(content_text(conv)))


def content_text(conv: Conversation) -> str:
    """render_text without system turns: a business's bot config is shared by all its conversations."""
    return "\n".join(render_turn(t.role, t.text) for t in conv.turns if t.role != "system")


def shingles(conv: Conversation, n: int = 3) -> set[str]:
    toks = words(content_text(conv))
    if len(toks) < n:
        return {" ".join(toks)}
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


@dataclass(frozen=True)
class NearDuplicate:
    a: str  # "<split>/<id>"
    b: str
    jaccard: float


def minhash_signatures(sets: Sequence[set[str]], num_perm: int = 64, seed: int = 1) -> np.ndarray:
    """(len(sets), num_perm) MinHash signatures: hashes (a*x+b) mod 2^61-1 over crc32 of each shingle."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 31, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=num_perm, dtype=np.uint64)
    lengths = np.array([max(len(s), 1) for s in sets])
    hashes = np.fromiter(
        (zlib.crc32(x.encode()) for s in sets for x in (s or {""})), dtype=np.uint64, count=int(lengths.sum())
    )
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    sig = np.empty((len(sets), num_perm), dtype=np.uint64)
    for k in range(num_perm):
        values = (a[k] * hashes + b[k]) % np.uint64(_MERSENNE)
        sig[:, k] = np.minimum.reduceat(values, starts)
    return sig


def cross_split_near_duplicates(
    splits: Mapping[str, Sequence[Conversation]], threshold: float = 0.7, bands: int = 16, rows: int = 4
) -> list[NearDuplicate]:
    """Pairs from different splits whose word-3-gram Jaccard >= threshold (LSH candidates, exact check)."""
    names, convs = [], []
    for split, items in splits.items():
        for conv in items:
            names.append(f"{split}/{conv.id}")
            convs.append(conv)
    sets = [shingles(c) for c in convs]
    sig = minhash_signatures(sets, num_perm=bands * rows)
    split_of = [n.split("/", 1)[0] for n in names]
    candidates: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        block = np.ascontiguousarray(sig[:, band * rows : (band + 1) * rows])
        for i in range(len(convs)):
            buckets[block[i].tobytes()].append(i)
        for members in buckets.values():
            if len(members) < 2 or len({split_of[i] for i in members}) < 2:
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    i, j = members[x], members[y]
                    if split_of[i] != split_of[j]:
                        candidates.add((i, j))
    found = []
    for i, j in sorted(candidates):
        jac = len(sets[i] & sets[j]) / max(len(sets[i] | sets[j]), 1)
        if jac >= threshold:
            found.append(NearDuplicate(names[i], names[j], round(jac, 3)))
    return found


def cross_split_exact_duplicates(splits: Mapping[str, Sequence[Conversation]]) -> list[tuple[str, str]]:
    first: dict[str, str] = {}
    dupes = []
    for split, items in splits.items():
        for conv in items:
            key = normalised_key(conv)
            owner = first.setdefault(key, f"{split}/{conv.id}")
            if owner.split("/", 1)[0] != split:
                dupes.append((owner, f"{split}/{conv.id}"))
    return dupes


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / all n-grams over the texts (word level)."""
    total, unique = 0, set()
    for text in texts:
        toks = words(text)
        grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / max(total, 1)


def diversity(convs: Sequence[Conversation]) -> dict[str, float]:
    """distinct-1/2/3 of user text and of bot text."""
    user = [t.text for c in convs for t in c.turns if t.role == "user"]
    bot = [t.text for c in convs for t in c.turns if t.role == "assistant"]
    out = {}
    for role, texts in (("user", user), ("bot", bot)):
        for n in (1, 2, 3):
            out[f"{role}_distinct_{n}"] = round(distinct_n(texts, n), 4)
    return out


def approx_tokens(conv: Conversation) -> int:
    """Sub-word token estimate: words plus punctuation, x1.3 for word pieces (no tokenizer download)."""
    text = render_text(conv)
    return int(len(re.findall(r"\w+|[^\w\s]", text)) * 1.3)


@dataclass(frozen=True)
class Shares:
    total: int
    labels: dict[str, float]
    langs: dict[str, float]
    domains: int
    general_categories: int
    deflection_in_business: float
    smalltalk_in_business: float
    embedded_in_general: float
    max_family_share: tuple[str, float]
    max_glue_share: tuple[str, float]
    long_share: float
    max_turns: int
    min_turns: int


def shares(convs: Sequence[Conversation]) -> Shares:
    n = len(convs)
    labels = Counter(c.label for c in convs)
    langs = Counter(c.lang for c in convs)
    business = [c for c in convs if c.label == NEGATIVE_LABEL]
    general = [c for c in convs if c.label == POSITIVE_LABEL]
    flows_b = Counter(c.meta.get("flow") for c in business)
    flows_g = Counter(c.meta.get("flow") for c in general)
    families = Counter(f for c in convs for f in set(c.meta.get("families", [])))
    glue = Counter(g for c in convs for g in set(c.meta.get("glue", [])))
    categories = {
        c.meta.get("category")
        for c in convs
        if c.meta.get("flow") in ("deflection", "embedded", "general_chat", "lone_general")
    }
    top_family = families.most_common(1)[0] if families else ("", 0)
    top_glue = glue.most_common(1)[0] if glue else ("", 0)
    return Shares(
        total=n,
        labels={str(k): v / n for k, v in labels.items()},
        langs={str(k): v / n for k, v in langs.items()},
        domains=len({c.meta.get("domain") for c in convs}),
        general_categories=len(categories),
        deflection_in_business=flows_b["deflection"] / max(len(business), 1),
        smalltalk_in_business=flows_b["smalltalk_explanation"] / max(len(business), 1),
        embedded_in_general=flows_g["embedded"] / max(len(general), 1),
        max_family_share=(top_family[0], top_family[1] / n),
        max_glue_share=(top_glue[0], top_glue[1] / n),
        long_share=sum(approx_tokens(c) > LONG_TOKENS for c in convs) / n,
        max_turns=max(len(c.turns) for c in convs),
        min_turns=min(len(c.turns) for c in convs),
    )


def media_placeholders(fragments: Mapping[str, LanguageFragments]) -> frozenset[str]:
    """Every language's `media_user` glue texts ("<image omitted>", "sticker omitido", ...)."""
    return frozenset(g.text for frag in fragments.values() for g in frag.glue.lists.get("media_user", ()))


def meta_problems(conv: Conversation, media_texts: Collection[str] = ()) -> list[str]:
    """Inconsistencies between a generated conversation's label, turns and meta.

    media_texts: the media placeholders (media_placeholders); a general request is never one of them.
    """
    meta = conv.meta
    problems = []
    offer_chat = meta.get("flow") == "offer_chat"  # an exchange with no business in sight
    if "business" not in meta and "business_name" not in meta and not offer_chat:
        problems.append(f"{conv.id}: meta.business (or meta.business_name) missing")
    has_system = any(t.role == "system" for t in conv.turns)
    if offer_chat and ("business" in meta or has_system):
        problems.append(f"{conv.id}: an offer_chat shows a business (meta.business or a system turn)")
    if meta.get("flow") in OWN_OFFER_FLOWS and not has_system:
        problems.append(f"{conv.id}: an offer_business performs the offer with no profile in sight")
    for key in (
        "domain",
        "category",
        "channel",
        "flow",
        "families",
        "general_turns",
        "general_requests",
        "source",
    ):
        if key not in meta:
            problems.append(f"{conv.id}: meta.{key} missing")
    general_turns = meta.get("general_turns", [])
    general_requests = meta.get("general_requests", [])
    for i in general_turns:
        if not 0 <= i < len(conv.turns) or conv.turns[i].role != "assistant":
            problems.append(f"{conv.id}: meta.general_turns {i} is not an assistant turn")
    for i in general_requests:
        if not 0 <= i < len(conv.turns) or conv.turns[i].role != "user":
            problems.append(f"{conv.id}: meta.general_requests {i} is not a user turn")
        elif conv.turns[i].text in media_texts:
            problems.append(
                f"{conv.id}: meta.general_requests {i} is a media placeholder ({conv.turns[i].text!r}), "
                "not a request"
            )
    if conv.has_bot_reply and (conv.label == POSITIVE_LABEL) != bool(general_turns):
        problems.append(f"{conv.id}: label {conv.label} but general_turns {general_turns}")
    if meta.get("flow") == "deflection" and not general_requests:
        problems.append(f"{conv.id}: deflection without general_requests")
    if conv.label == POSITIVE_LABEL and not general_requests:
        problems.append(f"{conv.id}: general_assistance without general_requests")
    if meta.get("pair_id") is not None and not any(t.role == "system" for t in conv.turns):
        problems.append(f"{conv.id}: a scope pair member without its profile (system turn)")
    if conv.label == POSITIVE_LABEL and meta.get("category") is None:
        problems.append(f"{conv.id}: general_assistance with meta.category null")
    has_category = meta.get("category") is not None
    if conv.label == NEGATIVE_LABEL and "category" in meta and has_category != bool(general_requests):
        # POLICY section 3: the category of the first request; null only without any general request
        problems.append(
            f"{conv.id}: business_support with general_requests {general_requests} "
            f"but meta.category {meta['category']!r}"
        )
    return problems


def grey_zone_problems(conv: Conversation, general_exclusions: Mapping[str, Collection[str]]) -> list[str]:
    """A flow whose general category is excluded for its domain (generate.yaml general_exclusions)."""
    category, domain = conv.meta.get("category"), conv.meta.get("domain")
    if (
        isinstance(category, str)
        and category in general_exclusions
        and domain in general_exclusions[category]
    ):
        return [f"{conv.id}: general category {category} drawn for domain {domain} (excluded as grey zone)"]
    return []


_UNFILLED_SLOT = re.compile(r"\{(" + "|".join(sorted(SLOTS | {TOPIC_SLOT})) + r")\}")
_DOUBLED_ARTICLE = re.compile(r"\b(las las|a las a las|the the)\b", re.IGNORECASE)


def clarifying_answers(fragments: Mapping[str, LanguageFragments]) -> frozenset[str]:
    """The first answers of families marked ``clarifies`` (they only ask back)."""
    return frozenset(
        answer
        for frag in fragments.values()
        for cat in frag.categories.values()
        for family in cat.families
        if family.clarifies
        for answer in family.bot
    )


def clarification_only_problems(conv: Conversation, clarifications: Collection[str]) -> list[str]:
    """A general flow whose every general turn is only a clarifying question performed nothing (POLICY)."""
    if conv.label != POSITIVE_LABEL or not conv.has_bot_reply:
        return []
    general = [conv.turns[i].text for i in conv.meta.get("general_turns") or []]
    if general and all(any(t.endswith(c) for c in clarifications) for t in general):
        return [f"{conv.id}: general only by clarifying questions (turns {conv.meta['general_turns']})"]
    return []


@dataclass(frozen=True)
class Reuse:
    """How often the set repeats itself (issue #11 asks: a family used at most 4 times, at most 15% of
    bot turns over 20 characters recurring word for word in 3 or more conversations)."""

    families: int
    mean_family_uses: float
    max_family_uses: int
    families_over_4_uses: float  # share of families
    recurring_bot_turns: float  # share of bot turns (> 20 chars) whose text is in >= 3 conversations
    with_profile: float  # share of conversations with a system turn
    scope_pairs: int


def reuse(convs: Sequence[Conversation]) -> Reuse:
    uses: Counter[str] = Counter()
    bot_texts: dict[str, set[str]] = defaultdict(set)
    occurrences: list[str] = []
    for conv in convs:
        uses.update(set(conv.meta.get("families") or []))
        for turn in conv.turns:
            if turn.role == "assistant" and len(turn.text) > 20:
                key = " ".join(words(turn.text))
                bot_texts[key].add(str(conv.meta.get("pair_id") or conv.id))  # a pair is one exchange
                occurrences.append(key)
    recurring = sum(len(bot_texts[k]) >= 3 for k in occurrences)
    pairs = {conv.meta.get("pair_id") for conv in convs} - {None}
    return Reuse(
        families=len(uses),
        mean_family_uses=sum(uses.values()) / len(uses) if uses else 0.0,
        max_family_uses=max(uses.values(), default=0),
        families_over_4_uses=sum(n > 4 for n in uses.values()) / len(uses) if uses else 0.0,
        recurring_bot_turns=recurring / len(occurrences) if occurrences else 0.0,
        with_profile=sum(any(t.role == "system" for t in c.turns) for c in convs) / len(convs)
        if convs
        else 0.0,
        scope_pairs=len(pairs),
    )


def text_leaks(conv: Conversation) -> list[str]:
    """Generator leaks in the text: an unfilled {slot} or a doubled article ("a las las 15:00")."""
    problems = []
    for i, turn in enumerate(conv.turns):
        slot = _UNFILLED_SLOT.search(turn.text)
        if slot:
            problems.append(f"{conv.id}: turn {i} has the unfilled slot {slot.group(0)}")
        doubled = _DOUBLED_ARTICLE.search(turn.text)
        if doubled:
            problems.append(f"{conv.id}: turn {i} has the doubled article {doubled.group(0)!r}")
    return problems


_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_LIST_LINE = re.compile(r"^\s*([-*•]|\d+[.)])\s", re.M)


def label_profile(convs: Sequence[Conversation]) -> dict[str, float]:
    """Shape of the conversations of one label: the numbers a structure shortcut would use."""
    bots = [t.text for c in convs for t in c.turns if t.role == "assistant"]
    users = [t.text for c in convs for t in c.turns if t.role == "user"]

    def share(items: Sequence[Any], predicate: Callable[[Any], bool]) -> float:
        return round(sum(map(predicate, items)) / max(len(items), 1), 3)

    def median(values: list[int]) -> float:
        return float(np.median(values)) if values else 0.0

    return {
        "turns (mean)": round(float(np.mean([len(c.turns) for c in convs])), 2),
        "user turns (mean)": round(
            float(np.mean([sum(t.role == "user" for t in c.turns) for c in convs])), 2
        ),
        "bot turns (mean)": round(
            float(np.mean([sum(t.role == "assistant" for t in c.turns) for c in convs])), 2
        ),
        "user chars (median)": median([len(u) for u in users]),
        "bot chars (median)": median([len(b) for b in bots]),
        "bot reply < 60 chars": share(bots, lambda b: len(b) < 60),
        "bot reply > 400 chars": share(bots, lambda b: len(b) > 400),
        "bot reply with emoji": share(bots, lambda b: bool(_EMOJI.search(b))),
        "bot reply with list": share(bots, lambda b: bool(_LIST_LINE.search(b))),
        "user msg with emoji": share(users, lambda u: bool(_EMOJI.search(u))),
        "user msg with ?": share(users, lambda u: "?" in u),
        "user msg all lowercase": share(users, str.islower),
        "ends with user message": share([c.turns[-1].role for c in convs], lambda r: r == "user"),
        "no bot reply": share(convs, lambda c: not c.has_bot_reply),
        "has system turn": share(convs, lambda c: c.turns[0].role == "system"),
        "has agent turn": share(convs, lambda c: any(t.role == "agent" for t in c.turns)),
    }


# --- coherence of generated conversations (datagen/fit.py, datagen/coherence.py) -----------------------
# Each check reads a conversation as a reader would: it does not trust the generator's bookkeeping, so
# a generator change that lets a defect through makes it fail (tests/datagen/test_generated_coherence.py).


def _lang(conv: Conversation) -> str:
    if conv.lang is None:
        raise ValueError(f"{conv.id}: a generated conversation names its language")
    return conv.lang


def business_setting(conv: Conversation, fragments: Mapping[str, LanguageFragments]) -> Setting:
    """The setting of a generated conversation: its business's country and currency, its domain."""
    meta, lang = conv.meta, _lang(conv)
    name = meta.get("business") or meta.get("business_name")
    frag = fragments[lang]
    owners = [d.locales for d in frag.domains.values() if name in d.businesses]
    owners += [o.locales for o in frag.offers.values() if name in o.businesses]
    country, currency = next((loc[name] for loc in owners if name in loc), (None, None))
    country = country or tables(lang).slots.default_country
    currency = currency or countries().countries[country].currency
    return Setting(lang, str(meta.get("domain")), country, currency)


def _general_indices(conv: Conversation) -> set[int]:
    return set(conv.meta.get("general_turns") or []) | set(conv.meta.get("general_requests") or [])


def address_problems(conv: Conversation) -> list[str]:
    """The bot (and the business's human agents) address the customer in one form only (du or Sie)."""
    forms: dict[str, int] = {}
    for i, turn in enumerate(conv.turns):
        if turn.role in ("assistant", "agent"):
            for form in address_marks(turn.text, _lang(conv)):
                forms.setdefault(form, i)
    if len(forms) > 1:
        return [f"{conv.id}: the business addresses the customer as {sorted(forms)} (turns {forms})"]
    return []


def region_problems(conv: Conversation, setting: Setting) -> list[str]:
    """No greeting or word of another country than the business's ("G'day" at a Nigerian bank)."""
    problems = []
    for i, turn in enumerate(conv.turns):
        if turn.role != "system" and any(
            setting.country not in w for w in regions_of(turn.text, setting.lang)
        ):
            problems.append(
                f"{conv.id}: turn {i} {turn.text[:50]!r} is said elsewhere than {setting.country}"
            )
    return problems


def currency_problems(conv: Conversation, setting: Setting) -> list[str]:
    """Prices of the business (turns that are no general task) are in its currency. Offer exchanges
    (issue #11) hold no prices, but facts about anywhere ("tips in the US are 15-20 $"): not read."""
    if conv.meta.get("pair_id") or str(conv.meta.get("flow", "")).startswith("offer_"):
        return []
    general = _general_indices(conv)
    problems = []
    for i, turn in enumerate(conv.turns):
        if turn.role == "system" or i in general:
            continue
        if any(setting.currency not in codes for codes in currencies_of(turn.text)):
            problems.append(
                f"{conv.id}: turn {i} {turn.text[:50]!r} quotes another currency than {setting.currency}"
            )
    return problems


def domain_problems(conv: Conversation, setting: Setting) -> list[str]:
    """A human agent speaks of what the business has: no orders at an insurer, no bookings at a bank app.
    (An agent turn that answers a general request performs that task and is not read.)"""
    answered = {i + 1 for i in conv.meta.get("general_requests") or []}
    return [
        f"{conv.id}: agent turn {i} {turn.text[:50]!r} does not fit a {setting.domain} business"
        for i, turn in enumerate(conv.turns)
        if turn.role == "agent" and i not in answered and not fits_domain(turn.text, setting)
    ]


def _fold_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.findall(r"[a-z]+", "".join(c for c in decomposed if not unicodedata.combining(c))))


PREFIX_REACH = 60  # a comply prefix opens the turn


def giving_in_problems(conv: Conversation, insist_lines: Collection[str]) -> list[str]:
    """A bot that gives in ("Alright, just this once") answers a customer who just insisted."""
    giving_in = re.compile(tables(_lang(conv)).conversation.giving_in, re.IGNORECASE)
    insist = [_fold_letters(line) for line in insist_lines]
    problems = []
    for i, turn in enumerate(conv.turns):
        if turn.role != "assistant" or not giving_in.search(turn.text.split("\n")[0][:PREFIX_REACH]):
            continue
        messages = list(reversed(_question(conv, i)))
        asked = [_fold_letters(m) for m in [*messages, " ".join(messages)]]  # an insist line may come split
        if not any(_like(text, line) for text in asked for line in insist):
            problems.append(f"{conv.id}: turn {i} {turn.text[:40]!r} gives in though nobody insisted")
    return problems


def _like(text: str, line: str) -> bool:
    """The same line after a customer's typing habits (typos, case, accents, a frame around it)."""
    return bool(line) and (line in text or SequenceMatcher(None, text, line).ratio() >= 0.75)


_DURATION = re.compile(r"\(\d+:\d\d\)")  # a voice message's length, "(0:42)": no clock time


def _question(conv: Conversation, index: int) -> list[str]:
    """The customer messages a turn answers: those since the previous bot or agent turn."""
    out: list[str] = []
    for turn in reversed(conv.turns[:index]):
        if turn.role != "user":
            break
        out.append(_DURATION.sub(" ", turn.text))
    return out


def name_problems(conv: Conversation, name: str) -> list[str]:
    """The bot and its agents name the customer only once the customer gave the name, or after a greeting
    that recognised a logged-in customer ("Welcome back")."""
    knows = re.compile(tables(_lang(conv)).conversation.knows_customer, re.IGNORECASE)
    word = re.compile(rf"\b{re.escape(name)}\b")
    known = False
    for i, turn in enumerate(conv.turns):
        if turn.role in ("user", "system"):
            known = known or bool(word.search(turn.text))
            continue
        known = known or bool(knows.search(turn.text))
        if word.search(turn.text) and not known:
            return [f"{conv.id}: turn {i} names the customer {name!r}, who never gave the name"]
    return []


@cache
def _date_pattern(lang: str) -> re.Pattern[str]:
    """Any of the language's date formats, as written in a conversation (case and accents folded)."""
    table = tables(lang).slots
    months = "|".join(_fold_letters(m) for m in table.months)
    parts = []
    for fmt in table.date_formats:
        rx = re.escape(fmt)
        for field, group in (("day", r"\d{1,2}"), ("month", r"\d{1,2}"), ("name", f"(?:{months})")):
            rx = re.sub(rf"\\{{{field}(:\d+d)?\\}}", group.replace("\\", "\\\\"), rx)
        parts.append(rx)
    return re.compile(r"(?<![\d/.])(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?![\d/])")


def _fold_text(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def dates_in(text: str, lang: str) -> set[str]:
    return set(_date_pattern(lang).findall(_fold_text(text)))


def amounts_in(text: str, currency: str) -> set[str]:
    """The digits of the amounts written in a currency's styles ("£12.50" -> "1250")."""
    money = countries().currencies[currency]
    found = set()
    for style in money.styles:
        head, _, tail = style.replace("{s}", money.symbol).partition("{v}")
        rx = (
            rf"(?<![\w$]){re.escape(head)}(\d[\d.,]*\d|\d)" if head else rf"(\d[\d.,]*\d|\d){re.escape(tail)}"
        )
        found |= {re.sub(r"\D", "", m) for m in re.findall(rx, text)}
    return found


def echo_problems(conv: Conversation, setting: Setting) -> list[str]:
    """A reply that states a date, time or amount of the kind the customer just gave repeats the
    customer's value ("move my flight to 14 May" -> "On 14 May there are seats ..."). A general answer
    computes with the customer's numbers ("2,400 net: 1,200 for fixed costs") and is not read."""
    general = set(conv.meta.get("general_turns") or [])
    problems = []
    for i, turn in enumerate(conv.turns):
        if turn.role != "assistant" or i in general:
            continue
        asked = " ".join(_question(conv, i))
        if not asked:
            continue
        for kind, read in (
            ("date", lambda t: dates_in(t, setting.lang)),
            ("time", clock_times),
            ("amount", lambda t: amounts_in(t, setting.currency)),
        ):
            theirs, ours = read(asked), read(turn.text)
            if theirs and ours and not theirs & ours:
                problems.append(f"{conv.id}: turn {i} answers {kind} {sorted(theirs)} with {sorted(ours)}")
    return problems


def price_problems(
    conv: Conversation, setting: Setting, prices: Mapping[str, tuple[float, float]], *, reach: int = 60
) -> list[str]:
    """An amount right after a product or plan with a price range is in that range (in the currency's
    magnitude), unless it repeats an amount the customer gave."""
    money = countries().currencies[setting.currency]
    problems = []
    for i, turn in enumerate(conv.turns):
        if turn.role not in ("assistant", "agent") or i in _general_indices(conv):
            continue
        said = set().union(
            *(amounts_in(t.text, setting.currency) for t in conv.turns[:i] if t.role == "user")
        )
        for item, (low, high) in prices.items():
            for m in re.finditer(re.escape(item), turn.text):
                after = turn.text[m.end() : m.end() + reach].split("\n")[0]
                value = _first_amount(after, setting.currency)
                if value is None or re.sub(r"\D", "", value[0]) in said:
                    continue
                base = value[1] / money.factor
                # pesos, rupees, naira are rounded to two digits ("1.600.000"): a few percent off the range
                slack = 0.06 if money.factor >= 10 else 0.01
                if not low * (1 - slack) <= base <= high * (1 + slack):
                    problems.append(
                        f"{conv.id}: turn {i} prices {item!r} at {value[0]} ({base:.2f} base units)"
                    )
    return problems


def _first_amount(text: str, currency: str) -> tuple[str, float] | None:
    """The first amount in a text written in the currency's styles, and its value."""
    money = countries().currencies[currency]
    where = next(c for c in countries().countries.values() if c.currency == currency)
    best: tuple[int, str] | None = None
    for style in money.styles:
        head, _, tail = style.replace("{s}", money.symbol).partition("{v}")
        rx = (
            rf"(?<![\w$]){re.escape(head)}(\d[\d.,]*\d|\d)" if head else rf"(\d[\d.,]*\d|\d){re.escape(tail)}"
        )
        m = re.search(rx, text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), m.group(1))
    if best is None:
        return None
    digits = best[1]
    thousands, decimal = (".", ",") if where.decimal_comma else (",", ".")
    number = float(digits.replace(thousands, "").replace(decimal, "."))
    return digits, number
