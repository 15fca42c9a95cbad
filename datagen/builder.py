"""ConversationBuilder: appends turns for one conversation and records what each turn is.

It keeps the bookkeeping the labels and meta need: which assistant turns carry a general task
(``general_turns``), which user turns ask for one (``general_requests``), which fragment families and
glue lines were used. Indices are positions in ``turns`` (0-based).

It also keeps the conversation coherent: every line it picks fits the conversation's setting
(datagen/fit.py: the bot's one form of address, the business's country, domain and currency), a bot
names the customer only once they gave their name (or a greeting recognised them), a reply is a variant
that answers the user variant it follows (datagen/coherence.py: same date, day, time, numbers,
relative) and repeats the values the customer gave (datagen/slots.py: echo). When the pool has nothing
that fits, ``Unfit`` asks the engine to compose the conversation again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from datagen import fit
from datagen.coherence import pair_problem
from datagen.fragments import BusinessFamily, Domain, Exchange, GeneralFamily, LanguageFragments, SmallTalk
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
# glue lists the customer writes; the others the business says (its form of address counts there)
CUSTOMER_LISTS = frozenset({"greetings_user", "closings_user", "insist_user", "handover_user", "media_user"})
NAME = "{name}"
Family = BusinessFamily | GeneralFamily


# (family, setting, name given, general) -> usable: the same families are asked about in every
# conversation of a setting, and the answer depends on nothing else
_USABLE: dict[tuple[BusinessFamily | GeneralFamily, fit.Setting, bool, bool], bool] = {}


class Unfit(RuntimeError):
    """No line of the pool fits this conversation (its form of address, country, domain): compose it again."""


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
    address: str | None = None  # the bot's form of address (datagen/fit.py); None: every form fits
    # the customer gave their name, or a greeting recognised them: the bot may use it from then on
    name_given: bool = False
    # more countries the lines must fit: a scope pair's exchange is read under two businesses' profiles
    also_countries: tuple[str, ...] = ()
    # values (by kind: date, time, amount) the customer gave in the current family, latest message first,
    # and those the bot's latest message of it offered: a reply repeats them (datagen/slots.py)
    heard: dict[str, list[str]] = field(default_factory=dict)
    offered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return self.fragments.lang

    @property
    def setting(self) -> fit.Setting:
        return fit.Setting(self.lang, self.domain.key, self.slots.country, self.slots.currency, self.address)

    # --- what fits this conversation --------------------------------------------------------------
    def spoken(self, text: str, *, priced: bool = True) -> str | None:
        """A line the business says, as it fits here: None when its form of address, region or currency is
        another, or when it needs the name of a customer who gave none ("Hi {name}!" loses the name)."""
        if not all(fit.fits(text, s, speaker=True, priced=priced) for s in self.settings()):
            return None
        if NAME not in text or self.name_given:
            return text
        text = fit.drop_name(text)
        return None if NAME in text else text

    def written(self, text: str, *, priced: bool = True) -> bool:
        """Whether the customer of this business would write the line (region, currency)."""
        return all(fit.fits(text, s, speaker=False, priced=priced) for s in self.settings())

    def settings(self) -> list[fit.Setting]:
        here = self.setting
        return [here] + [replace(here, country=c) for c in self.also_countries if c != here.country]

    def answers(self, user: str, bot: str, users: tuple[str, ...], *, general: bool) -> bool:
        """Whether a bot variant answers the user variant it follows (same date, day, time, numbers)."""
        return pair_problem(user, bot, self.lang, users, general=general) is None

    def exchange_pairs(self, ex: Exchange, *, general: bool, priced: bool) -> list[tuple[str, str]]:
        """(user variant, fitting bot reply) pairs of an exchange that fit this conversation."""
        users = [u for u in ex.user if self.written(u, priced=priced)]
        pairs = []
        for bot in ex.bot:
            said = self.spoken(bot, priced=priced)
            if said is not None:
                pairs += [(u, said) for u in users if self.answers(u, bot, ex.user, general=general)]
        return pairs

    def usable(self, family: Family, *, general: bool) -> bool:
        """A family this conversation can use: its request has a fitting answer (and a clarifying
        family's first followup, where the task is performed, has one too)."""
        key = (family, self.setting, self.name_given, general)
        if key not in _USABLE:
            _USABLE[key] = self._usable(family, general=general)
        return _USABLE[key]

    def _usable(self, family: Family, *, general: bool) -> bool:
        priced = not general
        if not self.exchange_pairs(Exchange(family.user, family.bot), general=general, priced=priced):
            return False
        if isinstance(family, GeneralFamily) and family.clarifies:
            return bool(self.exchange_pairs(family.followups[0], general=True, priced=False))
        return True

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
        if NAME in text:
            self.name_given = True
        text = self.slots.fill(text, echo=self.offered)
        self.hear(self.slots.said)
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
            text = frame_request(text, self.lang, self.rng, greeting=first, keep=self.written)
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
        text = self.say(text, topic)
        for part in style_bot(text, self.persona, self.rng):
            if general:
                self.general_turns.append(len(self.turns))
            self.turns.append({"role": "assistant", "text": part})

    def agent(self, text: str) -> None:
        self.turns.append({"role": "agent", "text": self.say(text)})

    def say(self, text: str, topic: str | None = None) -> str:
        """Fill a line the business says: it repeats the values the customer gave in this family."""
        if re.search(tables(self.lang).conversation.knows_customer, text, re.IGNORECASE):
            self.name_given = True  # "Welcome back, Ana": the business knows who writes
        filled = self.slots.fill(text, topic, echo=self.heard)
        self.offered = {kind: list(values) for kind, values in self.slots.said.items()}
        return filled

    def hear(self, said: dict[str, list[str]]) -> None:
        for kind, values in said.items():
            self.heard[kind] = list(values) + self.heard.get(kind, [])

    def begin_family(self) -> None:
        """A new issue: the values of the last one are not repeated any more."""
        self.heard, self.offered = {}, {}

    def system(self, text: str) -> None:
        self.turns.append({"role": "system", "text": self.slots.fill(text)})

    # --- fragment picks --------------------------------------------------------------------------
    def pick_glue(
        self, name: str, avoid: str | list[str] | None = None, keep: Callable[[str], bool] | None = None
    ) -> str:
        """A line of a glue list that fits this conversation, not one of `avoid`, one `keep` accepts while
        the list has such lines; Unfit when no line fits."""
        line = self.optional_glue(name, avoid, keep)
        if line is None:
            raise Unfit(f"no {name} line fits {self.setting}")
        return line

    def optional_glue(
        self, name: str, avoid: str | list[str] | None = None, keep: Callable[[str], bool] | None = None
    ) -> str | None:
        """As pick_glue, but None when no line fits (the turn is left out)."""
        fitting = self.fitting_glue(name)
        if not fitting:
            return None
        avoided = [avoid] if isinstance(avoid, str) else (avoid or [])
        choices = [g for g in fitting if g[1] not in avoided] or fitting
        if keep is not None:
            choices = [g for g in choices if keep(g[1])] or choices
        uid, text = self.rng.choice(choices)
        self.glue.append(uid)
        return text

    def fitting_glue(self, name: str) -> list[tuple[str, str]]:
        """(uid, text as it fits here) of the lines of a glue list this conversation can use: glue is
        written for every business, so it must also fit the domain ("track your order" at an insurer)."""
        setting, out = self.setting, []
        for line in self.fragments.glue.lists.get(name, ()):
            if not fit.fits_domain(line.text, setting):
                continue
            if name in CUSTOMER_LISTS:
                text = line.text if self.written(line.text) else None
            else:
                text = self.spoken(line.text)
            if text is not None:
                out.append((line.uid, text))
        return out

    def business_capacity(self) -> int:
        """Exchanges this domain's pool can fill without repeating a family (requests plus followups)."""
        return sum(1 + len(f.followups) for f in self.domain.families if self.usable(f, general=False))

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
        usable = [f for f in self.domain.families if self.usable(f, general=False)]
        everyday = [f for f in usable if is_handover_family(f, self.lang) == handover]
        if handover and not everyday:
            return []
        everyday = everyday or usable
        if not everyday:
            raise Unfit(f"no {self.domain.key} family fits {self.setting}")
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
            if any(f.uid not in self.families and self.general_fits(f) for f in wanted.families):
                cats = [wanted]
        usable = [[f for f in c.families if self.general_fits(f)] for c in cats]
        fresh = [[f for f in fams if f.uid not in self.families] for fams in usable]
        if not any(fresh):
            fresh = usable
        options = [fams for fams in fresh if fams]
        if not options:
            raise Unfit(f"no general family fits {self.setting}")
        families = self.rng.choices(options, weights=[len(f) for f in options])[0]
        return self.rng.choice(families)

    def general_fits(self, family: GeneralFamily) -> bool:
        """A general family this business's bot may perform: not its own offer, and fitting the setting."""
        return not family.offer_of & self.own_offer_kinds and self.usable(family, general=True)

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

    def system_prompt(self) -> None:
        """A system turn: one of the business's profiles that fits; the form of address it prescribes
        ("Duze die Kunden") is the bot's from then on."""
        fitting = [p for p in self.profiles() if self.written(p)]
        if not fitting:
            return
        prompt = self.rng.choice(fitting)
        self.address = fit.prescribed_form(prompt, self.lang) or self.address
        self.system(prompt)

    def offer_family(self, *, own: bool) -> GeneralFamily | None:
        """An offer family not used yet: of this business's own kind (``own``), else of another kind whose
        offer does not overlap this one's; None when the pool has none."""
        key = self.domain.key
        offers = [
            o
            for k, o in sorted(self.fragments.offers.items())
            if (k == key if own else k != key and k not in self.overlapping_offers)
        ]
        fresh = [
            [f for f in o.families if f.uid not in self.families and self.usable(f, general=True)]
            for o in offers
        ]
        options = [fams for fams in fresh if fams]
        if not options:
            return None
        return self.rng.choice(self.rng.choices(options, weights=[len(f) for f in options])[0])

    def reply(
        self,
        options: tuple[str, ...],
        *,
        general: bool,
        asked: str | None = None,
        users: tuple[str, ...] = (),
    ) -> str:
        """One of a family's bot replies that fits here and answers `asked` (the user variant it follows,
        one of `users`), nudged so reply lengths match across labels; Unfit when none does.

        The fragments carry more one-line general answers and more very long business explanations
        than the other label (by the writing brief's design); left as is, "short reply" would lean
        general. A short general pick or a very long business pick is sometimes redrawn among the
        family's other replies.
        """
        options = self.fitting_replies(options, general=general, asked=asked, users=users)
        choice = self.rng.choice(options)
        if general and len(choice) < SHORT_REPLY and self.rng.random() < REDRAW_SHORT_GENERAL:
            longer = [o for o in options if len(o) >= SHORT_REPLY]
            choice = self.rng.choice(longer) if longer else choice
        elif not general and len(choice) > LONG_REPLY and self.rng.random() < REDRAW_LONG_BUSINESS:
            shorter = [o for o in options if len(o) <= LONG_REPLY]
            choice = self.rng.choice(shorter) if shorter else choice
        return choice

    def fitting_replies(
        self, options: tuple[str, ...], *, general: bool, asked: str | None, users: tuple[str, ...]
    ) -> tuple[str, ...]:
        out = []
        for option in options:
            said = self.spoken(option, priced=not general)
            if said is not None and (asked is None or self.answers(asked, option, users, general=general)):
                out.append(said)
        if not out:
            raise Unfit(f"no reply of {options[0][:40]!r}... fits {self.setting}")
        return tuple(out)

    def ask(self, ex: Exchange, *, general: bool) -> str:
        """A user variant of an exchange that fits here and that some fitting bot variant answers."""
        asking = sorted(
            {u for u, _ in self.exchange_pairs(ex, general=general, priced=not general)}, key=ex.user.index
        )
        if not asking:
            raise Unfit(f"no user variant of {ex.user[0][:40]!r}... fits {self.setting}")
        return self.rng.choice(asking)

    def request_of(self, family: Family, *, general: bool) -> str:
        """A request of the family this customer would write (unanswered, lone or deflected requests)."""
        options = [u for u in family.user if self.written(u, priced=not general)]
        if not options:
            raise Unfit(f"no request of {family.uid} fits {self.setting}")
        return self.rng.choice(options)

    # --- exchanges -------------------------------------------------------------------------------
    def followups(self, family_followups: tuple[Exchange, ...], limit: int, *, general: bool) -> int:
        """Up to `limit` followups in order; the chain stops at one that does not fit this conversation."""
        used = 0
        for ex in family_followups[:limit]:
            if not self.exchange_pairs(ex, general=general, priced=not general):
                break
            asked = self.ask(ex, general=general)
            self.user(asked, general=general)
            self.bot(self.reply(ex.bot, general=general, asked=asked, users=ex.user), general=general)
            used += 1
        return used

    def business_exchange(self, family: BusinessFamily, max_units: int) -> int:
        """A business request and its answer, plus up to max_units-1 followups; returns units used."""
        self.use_family(family.uid)
        self.begin_family()
        opening = Exchange(family.user, family.bot)
        asked = self.ask(opening, general=False)
        self.user(asked, request=True)
        answer = self.reply(family.bot, general=False, asked=asked, users=family.user)
        if self.rng.random() < INSIST_BUSINESS_RATE:
            # the customer pushes for an exception and the bot gives in: the same insist / comply lines
            # as a general insist_comply flow, so neither is a label cue
            self.bot(answer)
            self.user(self.pick_glue("insist_user"))
            answer = self.reply(family.bot, general=False, asked=asked, users=family.user)
            self.bot(self.with_prefix(answer, self.pick_glue("comply_prefix_bot")))
        elif self.rng.random() < COMPLY_OPENER_BUSINESS_RATE:
            # an LLM-style "Sure thing!" opener; nobody insisted, so never a line that gives in
            prefix = self.optional_glue("comply_prefix_bot", keep=self.not_giving_in)
            self.bot(self.with_prefix(answer, prefix) if prefix and self.not_giving_in(prefix) else answer)
        else:
            self.bot(self.with_opener(answer, OPENER_RATE_BUSINESS))
        return 1 + self.followups(family.followups, max(0, max_units - 1), general=False)

    def not_giving_in(self, prefix: str) -> bool:
        return re.search(tables(self.lang).conversation.giving_in, prefix.strip(), re.IGNORECASE) is None

    def with_opener(self, answer: str, rate: float) -> str:
        """Sometimes a hedge or friendly opener ("Happy to help!", "Not 100% sure, but:") before the answer.

        Business answers already apologise and offer help; general ones get such openers too."""
        if not self.fragments.glue.lists.get("answer_openers_bot") or self.rng.random() >= rate:
            return answer
        opener = self.optional_glue("answer_openers_bot")
        return self.with_prefix(answer, opener) if opener else answer

    def with_prefix(self, answer: str, prefix: str) -> str:
        """Fragment lines are stripped: a prefix needs its separator back."""
        return f"{prefix}{self.rng.choice((' ', ' ', chr(10)))}{strip_bot_greeting(answer)}"

    def general_request(self, family: GeneralFamily, *, answered: bool = False) -> str:
        """The customer asks a general family's request; `answered`: one its answers fit (the bot or an
        agent performs it next). Returns the user variant asked."""
        self.use_family(family.uid)
        self.begin_family()
        self.note_request_category(family.category)
        asked = (
            self.ask(Exchange(family.user, family.bot), general=True)
            if answered
            else self.request_of(family, general=True)
        )
        self.user(asked, general=True, request=True)
        return asked

    def note_request_category(self, category: str) -> None:
        if self.first_request_category is None:
            self.first_request_category = category

    def general_answer(self, family: GeneralFamily, asked: str, prefix: str = "") -> None:
        answer = self.reply(family.bot, general=True, asked=asked, users=family.user)
        answer = self.with_prefix(answer, prefix) if prefix else self.with_opener(answer, OPENER_RATE_GENERAL)
        self.bot(answer, general=True)

    def general_exchange(self, family: GeneralFamily, max_units: int) -> int:
        asked = self.general_request(family, answered=True)
        self.general_answer(family, asked)
        performed = 1 if family.clarifies else 0  # a clarifying question alone performs nothing
        return 1 + self.followups(family.followups, max(performed, max_units - 1), general=True)

    def offer_exchange(self, family: GeneralFamily, max_units: int, *, general: bool) -> int:
        """An informational exchange of an offer family: business support when it is this business's own
        offer (``general`` False), general assistance when it is another kind of business's."""
        self.use_family(family.uid)
        self.begin_family()
        if general:
            self.note_request_category(family.category)
        asked = self.ask(Exchange(family.user, family.bot), general=True)
        self.user(asked, general=general, request=True)
        answer = self.reply(family.bot, general=True, asked=asked, users=family.user)
        self.bot(
            self.with_opener(answer, OPENER_RATE_GENERAL if general else OPENER_RATE_BUSINESS),
            general=general,
        )
        return 1 + self.followups(family.followups, max(0, max_units - 1), general=general)

    def deflection(self, family: GeneralFamily, *, insist: int = 0, comply: bool = False) -> int:
        """The user asks for a general task, the bot declines (and may finally give in)."""
        asked = self.general_request(family, answered=comply)
        line = self.pick_glue("deflections")
        self.bot(line, topic=family.deflect_topic)
        for round_ in range(insist):
            self.user(self.pick_glue("insist_user"), general=True)
            if comply and round_ == insist - 1:
                self.general_answer(family, asked, prefix=self.pick_glue("comply_prefix_bot"))
                if family.clarifies:  # the bot gave in with a question: it performs the task next
                    return 1 + insist + self.followups(family.followups, 1, general=True)
            else:
                line = self.pick_glue("deflections", avoid=line)
                self.bot(line, topic=family.deflect_topic)
        return 1 + insist

    def smalltalk(self) -> int:
        options = [p for p in self.fragments.glue.smalltalk if self.smalltalk_pairs(p)]
        if not options:
            raise Unfit(f"no small talk fits {self.setting}")
        pair = self.rng.choice(options)
        self.glue.append(pair.uid)
        self.begin_family()
        user, bot = self.rng.choice(self.smalltalk_pairs(pair))
        self.user(user)
        self.bot(bot)
        return 1

    def smalltalk_pairs(self, pair: SmallTalk) -> list[tuple[str, str]]:
        return self.exchange_pairs(Exchange(pair.user, pair.bot), general=False, priced=True)
