"""Flow types: how a conversation's core is composed from fragments, and the shared skeleton around it.

A conversation is drawn in two steps. First a *skeleton* that knows nothing of the label: how many
exchanges, system turn, greetings, closing, handover, fallback, unanswered last message, timestamps.
Then a *flow* fills the core. Mirrored flows share structure and differ only in what the bot does:
``deflection`` (bot declines the general request -> business_support) and ``embedded`` (bot performs it
-> general_assistance) use the same positions and variants; ``lone_business`` and ``lone_general`` the
same user-only shapes. Each flow returns the general category (docs/POLICY.md section 3: the one
performed, for deflections the one requested; None for plain business flows).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from datagen.builder import ConversationBuilder, Unfit
from datagen.fragments import OFFER_CATEGORY, Exchange
from datagen.tables import tables

BUSINESS = "business_support"
GENERAL = "general_assistance"

# flow name -> (label, variants). Labels of lone flows come from the request, of others from the bot.
FLOW_VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "business": (BUSINESS, ("single_family", "multi_family")),
    "deflection": (BUSINESS, ("early", "middle", "last", "one_among_many", "insist_deflect", "two_requests")),
    "smalltalk_explanation": (BUSINESS, ("smalltalk", "explanation", "smalltalk_and_explanation")),
    "lone_business": (
        BUSINESS,
        ("single", "bare", "greeting_then_request", "request_split", "request_media"),
    ),
    "general_chat": (GENERAL, ("single_task", "multi_task")),
    "embedded": (GENERAL, ("early", "middle", "last", "one_among_many", "insist_comply", "two_tasks")),
    "lone_general": (GENERAL, ("single", "bare", "greeting_then_request", "request_split", "request_media")),
    # issue #11: the offer decides. The bot of a business performs an informational task of its own offer
    # (business) or of another kind of business's offer (general), or declines the latter (business).
    "offer_business": (BUSINESS, ("early", "middle", "last", "one_among_many")),
    "offer_embedded": (GENERAL, ("early", "middle", "last", "one_among_many")),
    "offer_deflection": (BUSINESS, ("early", "middle", "last", "one_among_many")),
    # an offer exchange with no business in sight (no profile, no name, no support turns): whatever kind
    # of business's offer its content is, a bot answering it acts as a general-purpose assistant
    # (datagen.engine makes it from a scope pair's exchange; "lone": the request only)
    "offer_chat": (GENERAL, ("exchange", "lone")),
}
# flows whose business must have an offer file of its own kind
OWN_OFFER_FLOWS = ("offer_business",)
AGENT_GENERAL_RATE = 0.15  # handovers where the customer asks the human agent for a general task
# a bot line pointing at numbered options ("type 1, 2 or 3", "1️⃣", "menu")
MENU_REFERENCE = re.compile(r"(?<![\d.,:/])[1-9](?![\d.,:/])|1️⃣|\b(men[uúü]|Menü)\b", re.IGNORECASE)


def is_waiting(text: str, lang: str) -> bool:
    """A customer closing that means "I'll wait" (after a handover), not "thanks, solved"."""
    return re.search(tables(lang).conversation.waiting, text, re.IGNORECASE) is not None


UNIT_CHOICES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
UNIT_WEIGHTS = (16, 18, 15, 12, 10, 7, 6, 5, 4, 3, 2, 2)
# distinct business issues (families) a flow starts with; 0 = one per unit (the old, chained shape)
ISSUES_CHOICES = (1, 2, 3, 0)
ISSUES_WEIGHTS = (45, 25, 12, 18)
SYSTEM_RATE = 0.25  # conversations with a system turn (the business profile), unless the config says more


@dataclass(frozen=True)
class Skeleton:
    """Everything around the core, drawn without knowing the label."""

    units: int
    system: bool
    user_greets: bool
    greeting_in_first_message: bool
    bot_greets: bool
    closing: bool
    bot_closes: bool
    handover: bool
    fallback: bool
    unanswered_tail: bool
    timestamps: bool
    channel: str

    @classmethod
    def draw(cls, rng: random.Random, system_rate: float = SYSTEM_RATE) -> Skeleton:
        return cls(
            units=rng.choices(UNIT_CHOICES, weights=UNIT_WEIGHTS)[0],
            system=rng.random() < system_rate,
            user_greets=rng.random() < 0.5,
            greeting_in_first_message=rng.random() < 0.4,
            bot_greets=rng.random() < 0.45,
            closing=rng.random() < 0.4,
            bot_closes=rng.random() < 0.6,
            handover=rng.random() < 0.1,
            fallback=rng.random() < 0.08,
            unanswered_tail=rng.random() < 0.15,
            timestamps=rng.random() < 0.35,
            channel=rng.choices(("whatsapp", "webchat", "instagram"), weights=(85, 10, 5))[0],
        )


def _business_units(b: ConversationBuilder, units: int, kind: str | None = None) -> list[Callable[[], int]]:
    """Closures adding `units` business exchanges: distinct families, some continued by their followups.

    Fewer when the pool runs out (a conversation never repeats a family)."""
    if units <= 0:
        return []
    pool = b.business_families(units, kind)
    if not pool:
        return []
    # Real support chats mostly stay on one or two issues and go deeper (follow-ups), rather than
    # chaining many unrelated ones; more families are added only when the follow-ups run out.
    k = max(1, min(len(pool), units, b.rng.choices(ISSUES_CHOICES, weights=ISSUES_WEIGHTS)[0] or units))
    chosen, alloc = pool[:k], [1] * k
    for _ in range(units - k):
        open_ = [i for i, f in enumerate(chosen) if alloc[i] - 1 < len(f.followups)]
        if open_:
            alloc[b.rng.choice(open_)] += 1
        elif len(chosen) < len(pool):
            chosen.append(pool[len(chosen)])
            alloc.append(1)
        else:
            break
    return [partial(b.business_exchange, f, n) for f, n in zip(chosen, alloc, strict=True)]


def _position(rng: random.Random, variant: str, units: int) -> int:
    if variant == "early":
        return min(rng.randrange(2), units - 1)
    if variant == "last":
        return units - 1
    if variant == "middle" and units >= 3:
        return rng.randrange(1, units - 1)
    return rng.randrange(units)


def _mixed(b: ConversationBuilder, units: int, variant: str, general_units: list[Callable[[], int]]) -> None:
    """Business exchanges with the general units inserted at the variant's position(s)."""
    if variant == "one_among_many":
        units = min(b.rng.randint(10, 13), b.business_capacity() + len(general_units))
    units = max(units, len(general_units))
    business = _business_units(b, units - len(general_units))
    pos = _position(b.rng, variant, units)
    plan: list[Callable[[], int]] = list(business)
    for offset, unit in enumerate(general_units):
        plan.insert(min(pos + offset, len(plan)), unit)
    for unit in plan:  # every planned unit runs: the general one must never be cut off
        unit()


def flow_business(b: ConversationBuilder, units: int, variant: str) -> str | None:
    if variant == "single_family":
        families = b.business_families(units)
        used = b.business_exchange(families[0], units)
        # like general_chat: when the family's followups run out, the customer moves on to another request
        for family in families[1:]:
            if used >= units:
                break
            used += b.business_exchange(family, units - used)
    else:
        for unit in _business_units(b, units):
            unit()
    return None


def _general_variant_units(
    b: ConversationBuilder, variant: str, perform: bool
) -> tuple[list[Callable[[], int]], str]:
    """The general unit(s) of a mixed flow: deflected (business) or performed (general)."""
    first = b.general_family()
    if variant in ("two_requests", "two_tasks"):
        second = b.general_family(exclude_categories=(first.category,))
        if perform:
            return [
                lambda: b.general_exchange(first, 1),
                lambda: b.general_exchange(second, 1),
            ], first.category
        return [lambda: b.deflection(first), lambda: b.deflection(second)], first.category
    if variant in ("insist_deflect", "insist_comply"):
        insist = 1 + (b.rng.random() < 0.3)
        return [lambda: b.deflection(first, insist=insist, comply=perform)], first.category
    if perform:
        return [lambda: b.general_exchange(first, 1 + (b.rng.random() < 0.3))], first.category
    return [lambda: b.deflection(first)], first.category


def flow_deflection(b: ConversationBuilder, units: int, variant: str) -> str | None:
    general_units, category = _general_variant_units(b, variant, perform=False)
    _mixed(b, units, variant, general_units)
    return category


def flow_embedded(b: ConversationBuilder, units: int, variant: str) -> str | None:
    general_units, category = _general_variant_units(b, variant, perform=True)
    _mixed(b, units, variant, general_units)
    return category


def flow_smalltalk_explanation(b: ConversationBuilder, units: int, variant: str) -> str | None:
    special: list[Callable[[], int]] = []
    if variant in ("explanation", "smalltalk_and_explanation"):
        special += _business_units(b, 1, kind="explanation")
    if variant in ("smalltalk", "smalltalk_and_explanation"):
        special.append(b.smalltalk)
    plan = special + _business_units(b, max(0, units - len(special)))
    b.rng.shuffle(plan)
    for unit in plan:  # all run: the small talk / explanation must never be cut off
        unit()
    return None


def flow_general_chat(b: ConversationBuilder, units: int, variant: str) -> str | None:
    first = b.general_family()
    if variant == "single_task" or units == 1:
        used = b.general_exchange(first, units)
        # a family with few followups: the user moves on to another task of the same category
        while used < units:
            used += b.general_exchange(b.general_family(category=first.category), units - used)
        return first.category
    used = b.general_exchange(first, b.rng.randint(1, 2))
    while used < units:
        used += b.general_exchange(b.general_family(), b.rng.randint(1, 2))
    return first.category


def _offer_units(b: ConversationBuilder, *, own: bool, perform: bool) -> list[Callable[[], int]]:
    family = b.offer_family(own=own)
    if family is None:
        raise Unfit(f"no offer family for {b.domain.key} (own={own}) fits this conversation")
    if not perform:
        return [lambda: b.deflection(family)]
    return [lambda: b.offer_exchange(family, 1 + (b.rng.random() < 0.3), general=not own)]


def flow_offer_business(b: ConversationBuilder, units: int, variant: str) -> str | None:
    _mixed(b, units, variant, _offer_units(b, own=True, perform=True))
    return None


def flow_offer_embedded(b: ConversationBuilder, units: int, variant: str) -> str | None:
    _mixed(b, units, variant, _offer_units(b, own=False, perform=True))
    return OFFER_CATEGORY


def flow_offer_deflection(b: ConversationBuilder, units: int, variant: str) -> str | None:
    _mixed(b, units, variant, _offer_units(b, own=False, perform=False))
    return OFFER_CATEGORY


def _lone(b: ConversationBuilder, variant: str, general: bool) -> str | None:
    if general:
        family = b.general_family()
        b.use_family(family.uid)
        request, category = b.request_of(family, general=True), family.category
        b.note_request_category(category)
    else:
        family_b = b.business_families(1)[0]
        b.use_family(family_b.uid)
        request, category = b.request_of(family_b, general=False), None
    b.lone_general = general
    if variant == "bare":  # one plain message: no greeting, wrapper, split, link or media
        b.user(request, general=general, bare=True)
    elif variant == "greeting_then_request":
        b.user(b.pick_glue("greetings_user"))
        b.user(request, general=general, request=True)
    elif variant == "request_split":
        b.user(request, general=general, force_split=True, request=True)
    elif variant == "request_media":
        media = b.pick_glue("media_user")
        if b.rng.random() < 0.5:
            b.user(media, styled=False)
            b.user(request, general=general, request=True)
        else:
            b.user(request, general=general, request=True)
            b.user(media, styled=False)
    else:
        b.user(request, general=general, request=True)
    return category


def flow_lone_business(b: ConversationBuilder, units: int, variant: str) -> str | None:
    return _lone(b, variant, general=False)


def flow_lone_general(b: ConversationBuilder, units: int, variant: str) -> str | None:
    return _lone(b, variant, general=True)


FLOWS: dict[str, Callable[[ConversationBuilder, int, str], str | None]] = {
    "business": flow_business,
    "deflection": flow_deflection,
    "smalltalk_explanation": flow_smalltalk_explanation,
    "lone_business": flow_lone_business,
    "general_chat": flow_general_chat,
    "embedded": flow_embedded,
    "lone_general": flow_lone_general,
    "offer_business": flow_offer_business,
    "offer_embedded": flow_offer_embedded,
    "offer_deflection": flow_offer_deflection,
}
LONE_FLOWS = ("lone_business", "lone_general")
BARE_VARIANT = "bare"  # lone flows' variant without a system turn either


def opening(b: ConversationBuilder, sk: Skeleton) -> str | None:
    """System turn and greetings; returns a user greeting to prefix to the first request, if any.

    A greeting or fallback that fits no line of this business (its region, domain, form of address) is
    left out."""
    if sk.system:
        b.system_prompt()
    prefix = None
    greeting = b.optional_glue("greetings_user") if sk.user_greets else None
    if greeting is not None:
        b.user_greeted = True  # no greeting frame on the first request as well
        if sk.greeting_in_first_message and not sk.bot_greets:
            prefix = greeting
            b.name_given = b.name_given or "{name}" in greeting  # it opens the first request
        else:
            b.user(greeting)
    greeting_bot = (b.optional_glue("greetings_bot") if sk.bot_greets else None) or ""
    if greeting_bot:
        b.bot(greeting_bot, answer=False)
    # a menu fallback ("Invalid option, type 1, 2 or 3") only after a greeting that showed the menu
    menu = bool(MENU_REFERENCE.search(greeting_bot))
    fallback = (
        b.optional_glue("fallback_bot", keep=lambda t: menu or not MENU_REFERENCE.search(t))
        if sk.fallback
        else None
    )
    if fallback is not None and (menu or not MENU_REFERENCE.search(fallback)):
        if b.rng.random() < 0.5:
            b.user(b.pick_glue("media_user"), styled=False)
        else:
            b.user(b.rng.choice(("?", "hm", "...", "1", "9", "ok", "👍")), styled=False)
        b.bot(fallback, answer=False)
    return prefix


def handover(b: ConversationBuilder) -> None:
    """The customer asks for a person (or complains), the bot hands over, a human agent takes it from there.

    Agent lines come in order (one opener, one or two middles, maybe a closer), each at most once; the
    bot never writes again after announcing the handover.
    """
    families = b.business_families(1, handover=True)
    if families and b.rng.random() < 0.5:  # the domain's own "talk to a person" family
        family = families[0]
        b.use_family(family.uid)
        b.begin_family()
        asked = b.ask(Exchange(family.user, family.bot), general=False)
        b.user(asked, request=True)
        b.bot(b.reply(family.bot, general=False, asked=asked, users=family.user))
    else:
        b.user(b.pick_glue("handover_user"))
        b.bot(b.pick_glue("handover_bot"), answer=False)
    if b.rng.random() < 0.1:  # the export ends before the agent joins
        if b.rng.random() < 0.5:
            waiting = b.optional_glue("closings_user", keep=lambda t: is_waiting(t, b.lang))
            if waiting is not None and is_waiting(waiting, b.lang):
                b.user(waiting)
        return
    b.agent(b.pick_glue("agent_open"))
    if b.rng.random() < AGENT_GENERAL_RATE:
        # POLICY example G: a human agent doing a general task is not the bot's behaviour; the request
        # is still listed in general_requests, the label stays what the bot did
        task = b.general_family()
        asked = b.general_request(task, answered=True)
        b.agent(b.reply(task.bot, general=True, asked=asked, users=task.user))
        if b.rng.random() < 0.5:
            _closing(b)
        return
    if b.rng.random() < 0.5:  # the customer tells the human what they need
        family = b.business_families(1)[0]
        b.use_family(family.uid)
        b.begin_family()
        b.user(b.ask(Exchange(family.user, family.bot), general=False))
    used: list[str] = []
    middles = len(b.fitting_glue("agent_middle"))  # a split's pool may hold a single fitting line
    for _ in range(min(middles, 1 + (b.rng.random() < 0.4))):
        line = b.pick_glue("agent_middle", avoid=used)
        used.append(line)
        b.agent(line)
    if b.rng.random() < 0.7:
        if b.rng.random() < 0.6:
            b.user(b.pick_glue("closings_user"))
        closing = b.optional_glue("agent_close")
        if closing is not None:
            b.agent(closing)


def _closing(b: ConversationBuilder) -> None:
    """A thanks that closes a resolved request, not "ok I'll wait"; none when no such line fits."""
    line = b.optional_glue("closings_user", keep=lambda t: not is_waiting(t, b.lang))
    if line is not None and not is_waiting(line, b.lang):
        b.user(line)


def ending(b: ConversationBuilder, sk: Skeleton) -> None:
    """Handover to a human, closing, or a last user message the bot has not answered yet."""
    if sk.handover:
        handover(b)
    if sk.unanswered_tail:
        kind = b.rng.choice(("business", "general", "media", "nudge"))
        if kind == "business":
            family = b.business_families(1)[0]
            b.use_family(family.uid)
            b.begin_family()
            b.user(b.request_of(family, general=False), request=True)
        elif kind == "general":
            b.general_request(b.general_family())
        elif kind == "media":
            b.user(b.pick_glue("media_user"), styled=False)
        else:
            b.user(b.rng.choice(tables(b.lang).realism.nudges))
        return
    if sk.closing:  # thanks, not "ok I'll wait" after a resolved request
        _closing(b)
        closing = b.optional_glue("closings_bot") if sk.bot_closes and not sk.handover else None
        if closing is not None and b.turns[-1]["role"] == "user":
            b.bot(closing, answer=False)


def merge_greeting(b: ConversationBuilder, first_user_index: int, greeting: str) -> None:
    """Put the user's greeting in front of the first request ("hi, where is my order")."""
    turn = b.turns[first_user_index]
    sep = b.rng.choice((", ", " ", "! ", "\n"))
    turn["text"] = f"{b.slots.fill(greeting)}{sep}{turn['text']}"
