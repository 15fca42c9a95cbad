"""ConversationBuilder: appends turns for one conversation and records what each turn is.

It keeps the bookkeeping the labels and meta need: which assistant turns carry a general task
(``general_turns``), which user turns ask for one (``general_requests``), which fragment families and
glue lines were used. Indices are positions in ``turns`` (0-based).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from datagen.fragments import BusinessFamily, Domain, Exchange, GeneralFamily, LanguageFragments
from datagen.realism import (
    Persona,
    frame_request,
    split_message,
    strip_bot_greeting,
    strip_user_greeting,
    style_bot,
    style_user,
)
from datagen.slots import SlotFiller
from datagen.tables import tables

SHORT_REPLY, LONG_REPLY = 60, 400
REDRAW_SHORT_GENERAL, REDRAW_LONG_BUSINESS = 0.6, 0.4
# business answers that carry a comply prefix, so "Okay, here you go:" is no general-label cue
INSIST_BUSINESS_RATE, COMPLY_OPENER_BUSINESS_RATE = 0.012, 0.012
# hedge / friendly openers on both labels: general answers get them as business answers get apologies
OPENER_RATE_GENERAL, OPENER_RATE_BUSINESS = 0.08, 0.03


def is_handover_family(family: BusinessFamily, lang: str) -> bool:
    """One of the family's first replies hands the chat over to a person (the bot must not go on after it)."""
    pattern = tables(lang).conversation.handover_wording
    return any(re.search(pattern, b, re.IGNORECASE) for b in family.bot)


@dataclass
class ConversationBuilder:
    rng: random.Random
    fragments: LanguageFragments  # this split's pool for the language
    domain: Domain
    business: str
    persona: Persona
    slots: SlotFiller
    turns: list[dict] = field(default_factory=list)
    general_turns: list[int] = field(default_factory=list)
    general_requests: list[int] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    glue: list[str] = field(default_factory=list)
    lone_general: bool | None = None  # for user-only conversations: would answering be general?
    # general categories not drawn for this business: the policy's grey-zone table calls them business
    excluded_categories: frozenset[str] = frozenset()
    first_request_category: str | None = None  # category of the first general request (POLICY section 3)
    # more system prompts of this business: offer profiles that declare what it offers (issue #11)
    extra_profiles: tuple[str, ...] = ()
    # offer domains whose offer overlaps this business's: their exchanges are not "another business's"
    overlapping_offers: frozenset[str] = frozenset()
    user_greeted: bool = False  # the customer already greeted (own message or prefix of the first request)

    @property
    def lang(self) -> str:
        return self.fragments.lang

    # --- raw turns -------------------------------------------------------------------------------
    def user(
        self,
        text: str,
        *,
        general: bool = False,
        styled: bool = True,
        force_split: bool = False,
        request: bool = False,
        bare: bool = False,
    ) -> None:
        """Append a user message (styled by the persona; `request`: a family's opening request).

        `bare`: exactly one message with the persona's typing habits only: no wrapper frame, no split,
        no pasted link, no media attachment (a lone one-line query).
        """
        text = self.slots.fill(text)
        if request and (self.user_greeted or any(t["role"] == "user" for t in self.turns)):
            text = strip_user_greeting(text)  # rule: the customer greets once, at the start
        if bare:
            persona = replace(self.persona, split_rate=0.0, voice_rate=0.0)
            parts = [" ".join(style_user(text, persona, self.lang, self.rng)) if styled else text]
            self._append_user_parts([(parts[0], False)], general=general)
            return
        if request and self.persona.frame_rate and self.rng.random() < self.persona.frame_rate:
            # greeting frames ("hi, {x}") only open a conversation, never a later request
            first = not self.user_greeted and not any(t["role"] == "user" for t in self.turns)
            text = frame_request(text, self.lang, self.rng, greeting=first)
        parts = style_user(text, self.persona, self.lang, self.rng) if styled else [text]
        if force_split and len(parts) == 1:
            parts = split_message(parts[0], self.rng)
        if self.persona.link_rate and self.rng.random() < self.persona.link_rate:
            link = self.slots.url()
            parts[-1] = f"{parts[-1]} {link}" if self.rng.random() < 0.7 else f"{link}\n{parts[-1]}"
        tagged = [(part, False) for part in parts]
        if self.persona.media_rate and self.rng.random() < self.persona.media_rate:
            # the attachment is tagged, not compared by text: it is never the general request itself
            media = (self.pick_glue("media_user"), True)
            tagged = [media, *tagged] if self.rng.random() < 0.5 else [*tagged, media]
        self._append_user_parts(tagged, general=general)

    def _append_user_parts(self, parts: list[tuple[str, bool]], *, general: bool) -> None:
        for part, is_media in parts:
            if general and not is_media:
                self.general_requests.append(len(self.turns))
            self.turns.append({"role": "user", "text": part})

    def bot(self, text: str, *, general: bool = False, topic: str | None = None, answer: bool = True) -> None:
        """Append a bot message; `answer`: a fragment answer, whose greeting opening ("¡Hola! ...") is
        dropped unless it is the bot's first message (glue greetings keep theirs: answer=False)."""
        if answer and any(t["role"] == "assistant" for t in self.turns):
            text = strip_bot_greeting(text)
        text = self.slots.fill(text, topic)
        for part in style_bot(text, self.persona, self.rng):
            if general:
                self.general_turns.append(len(self.turns))
            self.turns.append({"role": "assistant", "text": part})

    def agent(self, text: str) -> None:
        self.turns.append({"role": "agent", "text": self.slots.fill(text)})

    def system(self, text: str) -> None:
        self.turns.append({"role": "system", "text": self.slots.fill(text)})

    # --- fragment picks --------------------------------------------------------------------------
    def pick_glue(
        self, name: str, avoid: str | list[str] | None = None, keep: Callable[[str], bool] | None = None
    ) -> str:
        """A line of a glue list, not one of `avoid`, one `keep` accepts while the list has such lines."""
        lines = self.fragments.glue.lists[name]
        avoided = [avoid] if isinstance(avoid, str) else (avoid or [])
        choices = [g for g in lines if g.text not in avoided] or list(lines)
        if keep is not None:
            choices = [g for g in choices if keep(g.text)] or choices
        line = self.rng.choice(choices)
        self.glue.append(line.uid)
        return line.text

    def business_capacity(self) -> int:
        """Exchanges this domain's pool can fill without repeating a family (requests plus followups)."""
        return sum(1 + len(f.followups) for f in self.domain.families)

    def use_family(self, uid: str) -> None:
        if uid not in self.families:
            self.families.append(uid)

    def business_families(
        self, count: int, kind: str | None = None, *, handover: bool = False
    ) -> list[BusinessFamily]:
        """Up to `count` distinct families of this domain not used yet in this conversation.

        Families whose bot hands over to a person are drawn only for a handover (`handover=True`): after
        such an answer an agent follows or the chat ends, the bot never goes on. Fewer when the pool is
        smaller: a conversation never repeats a family."""
        everyday = [f for f in self.domain.families if is_handover_family(f, self.lang) == handover]
        if handover and not everyday:
            return []
        everyday = everyday or list(self.domain.families)
        pool = [f for f in everyday if kind is None or f.kind == kind]
        pool = pool or everyday
        fresh = [f for f in pool if f.uid not in self.families] or pool
        return self.rng.sample(fresh, min(count, len(fresh)))

    def general_family(
        self, category: str | None = None, exclude_categories: tuple[str, ...] = ()
    ) -> GeneralFamily:
        """A general family not used yet in this conversation, from `category` while it has one left.

        Categories in `excluded_categories` (grey-zone pairs with this business's domain) are never
        drawn, unless the pool has no other category at all."""
        excluded = set(exclude_categories) | self.excluded_categories
        categories = sorted(self.fragments.categories.items())
        allowed = [c for k, c in categories if k not in self.excluded_categories]
        allowed = allowed or list(self.fragments.categories.values())
        cats = [c for c in allowed if c.key not in excluded] or allowed
        if (
            category is not None
            and category in self.fragments.categories
            and category not in self.excluded_categories
        ):
            wanted = self.fragments.categories[category]
            if any(f.uid not in self.families for f in wanted.families):
                cats = [wanted]
        own = self.own_offer_kinds
        usable = [[f for f in c.families if not f.offer_of & own] for c in cats]
        fresh = [[f for f in fams if f.uid not in self.families] for fams in usable]
        if not any(fresh):
            fresh = usable
        options = [fams for fams in fresh if fams]
        families = self.rng.choices(options, weights=[len(f) for f in options])[0]
        return self.rng.choice(families)

    @property
    def own_offer_kinds(self) -> frozenset[str]:
        """This business's kind: a general family that is its offer would be business support here, so it
        is never drawn as general. Overlapping offers are not added: a family names every kind it belongs
        to, and an overlap (gym and clinic) would also take a clinic's medical advice away from gym bots,
        where it is general."""
        return frozenset({self.domain.key})

    def profiles(self) -> tuple[str, ...]:
        """The system prompts this business's bot may be configured with."""
        return self.domain.system + self.extra_profiles

    def offer_family(self, *, own: bool) -> GeneralFamily | None:
        """An offer family not used yet: of this business's own kind (``own``), else of another kind whose
        offer does not overlap this one's; None when the pool has none."""
        key = self.domain.key
        offers = [
            o
            for k, o in sorted(self.fragments.offers.items())
            if (k == key if own else k != key and k not in self.overlapping_offers)
        ]
        fresh = [[f for f in o.families if f.uid not in self.families] for o in offers]
        options = [fams for fams in fresh if fams]
        if not options:
            return None
        return self.rng.choice(self.rng.choices(options, weights=[len(f) for f in options])[0])

    def reply(self, options: tuple[str, ...], *, general: bool) -> str:
        """One of a family's bot replies, nudged so reply lengths match across labels.

        The fragments carry more one-line general answers and more very long business explanations
        than the other label (by the writing brief's design); left as is, "short reply" would lean
        general. A short general pick or a very long business pick is sometimes redrawn among the
        family's other replies.
        """
        choice = self.rng.choice(options)
        if general and len(choice) < SHORT_REPLY and self.rng.random() < REDRAW_SHORT_GENERAL:
            longer = [o for o in options if len(o) >= SHORT_REPLY]
            choice = self.rng.choice(longer) if longer else choice
        elif not general and len(choice) > LONG_REPLY and self.rng.random() < REDRAW_LONG_BUSINESS:
            shorter = [o for o in options if len(o) <= LONG_REPLY]
            choice = self.rng.choice(shorter) if shorter else choice
        return choice

    # --- exchanges -------------------------------------------------------------------------------
    def followups(self, family_followups: tuple[Exchange, ...], limit: int, *, general: bool) -> int:
        used = 0
        for ex in family_followups[:limit]:
            self.user(self.rng.choice(ex.user), general=general)
            self.bot(self.reply(ex.bot, general=general), general=general)
            used += 1
        return used

    def business_exchange(self, family: BusinessFamily, max_units: int) -> int:
        """A business request and its answer, plus up to max_units-1 followups; returns units used."""
        self.use_family(family.uid)
        self.user(self.rng.choice(family.user), request=True)
        answer = self.reply(family.bot, general=False)
        if self.rng.random() < INSIST_BUSINESS_RATE:
            # the customer pushes for an exception and the bot gives in: the same insist / comply lines
            # as a general insist_comply flow, so neither is a label cue
            self.bot(answer)
            self.user(self.pick_glue("insist_user"))
            answer = self.reply(family.bot, general=False)
            self.bot(self.with_prefix(answer, self.pick_glue("comply_prefix_bot")))
        elif self.rng.random() < COMPLY_OPENER_BUSINESS_RATE:  # an LLM-style "Sure thing!" opener
            self.bot(self.with_prefix(answer, self.pick_glue("comply_prefix_bot")))
        else:
            self.bot(self.with_opener(answer, OPENER_RATE_BUSINESS))
        return 1 + self.followups(family.followups, max(0, max_units - 1), general=False)

    def with_opener(self, answer: str, rate: float) -> str:
        """Sometimes a hedge or friendly opener ("Happy to help!", "Not 100% sure, but:") before the answer.

        Business answers already apologise and offer help; general ones get such openers too."""
        if not self.fragments.glue.lists.get("answer_openers_bot") or self.rng.random() >= rate:
            return answer
        return self.with_prefix(answer, self.pick_glue("answer_openers_bot"))

    def with_prefix(self, answer: str, prefix: str) -> str:
        """Fragment lines are stripped: a prefix needs its separator back."""
        return f"{prefix}{self.rng.choice((' ', ' ', chr(10)))}{strip_bot_greeting(answer)}"

    def general_request(self, family: GeneralFamily) -> None:
        self.use_family(family.uid)
        self.note_request_category(family.category)
        self.user(self.rng.choice(family.user), general=True, request=True)

    def note_request_category(self, category: str) -> None:
        if self.first_request_category is None:
            self.first_request_category = category

    def general_answer(self, family: GeneralFamily, prefix: str = "") -> None:
        answer = self.reply(family.bot, general=True)
        answer = self.with_prefix(answer, prefix) if prefix else self.with_opener(answer, OPENER_RATE_GENERAL)
        self.bot(answer, general=True)

    def general_exchange(self, family: GeneralFamily, max_units: int) -> int:
        self.general_request(family)
        self.general_answer(family)
        performed = 1 if family.clarifies else 0  # a clarifying question alone performs nothing
        return 1 + self.followups(family.followups, max(performed, max_units - 1), general=True)

    def offer_exchange(self, family: GeneralFamily, max_units: int, *, general: bool) -> int:
        """An informational exchange of an offer family: business support when it is this business's own
        offer (``general`` False), general assistance when it is another kind of business's."""
        self.use_family(family.uid)
        if general:
            self.note_request_category(family.category)
        self.user(self.rng.choice(family.user), general=general, request=True)
        answer = self.reply(family.bot, general=general)
        self.bot(
            self.with_opener(answer, OPENER_RATE_GENERAL if general else OPENER_RATE_BUSINESS),
            general=general,
        )
        return 1 + self.followups(family.followups, max(0, max_units - 1), general=general)

    def deflection(self, family: GeneralFamily, *, insist: int = 0, comply: bool = False) -> int:
        """The user asks for a general task, the bot declines (and may finally give in)."""
        self.general_request(family)
        line = self.pick_glue("deflections")
        self.bot(line, topic=family.deflect_topic)
        for round_ in range(insist):
            self.user(self.pick_glue("insist_user"), general=True)
            if comply and round_ == insist - 1:
                self.general_answer(family, prefix=self.pick_glue("comply_prefix_bot"))
                if family.clarifies:  # the bot gave in with a question: it performs the task next
                    return 1 + insist + self.followups(family.followups, 1, general=True)
            else:
                line = self.pick_glue("deflections", avoid=line)
                self.bot(line, topic=family.deflect_topic)
        return 1 + insist

    def smalltalk(self) -> int:
        pair = self.rng.choice(self.fragments.glue.smalltalk)
        self.glue.append(pair.uid)
        self.user(self.rng.choice(pair.user))
        self.bot(self.rng.choice(pair.bot))
        return 1
