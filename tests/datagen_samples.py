"""A tiny valid fragment set (one language, one domain, one category) and a builder on it, for the
generator unit tests (tests/datagen/, tests/cli/test_data.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from datagen.builder import ConversationBuilder
from datagen.fragments import LanguageFragments
from datagen.realism import Persona
from datagen.slots import SlotFiller

COMMON = """
greetings_user: ["hi", "hello"]
greetings_bot: ["Hi {name}, welcome to {business}"]
closings_user: ["thanks"]
closings_bot: ["bye"]
deflections: ["I can't help with {topic}, sorry."]
insist_user: ["pls"]
comply_prefix_bot: ["Ok: "]
handover_bot: ["Transferring you."]
handover_user: ["can I talk to a person"]
agent_open: ["Hi, {agent} here."]
agent_middle: ["Let me check that.", "Done, {name}."]
agent_close: ["Bye for now!"]
fallback_bot: ["Type 1 for orders."]
media_user: ["[image]"]
smalltalk:
  - user: ["hot today"]
    bot: ["It is! Anything else?"]
"""
DOMAIN = """
domain: telecom
businesses: ["Vodafone"]
families:
  - id: roaming
    kind: exchange
    user: ["roaming to {city}?"]
    bot: ["Send ROAM to 4141, {amount}/day."]
"""
CATEGORY = """
category: coding
families:
  - id: reverse_string
    user: ["reverse a string in python"]
    bot: ["`s[::-1]` or f\\"{s[::-1]}\\""]
    deflect_topic: "programming"
"""


def write_lang_files(
    root: Path, common: str = COMMON, domain: str = DOMAIN, category: str = CATEGORY
) -> Path:
    lang = root / "en"
    (lang / "business").mkdir(parents=True)
    (lang / "general").mkdir()
    (lang / "common.yaml").write_text(common)
    (lang / "business" / "telecom.yaml").write_text(domain)
    (lang / "general" / "coding.yaml").write_text(category)
    return lang


# Offer files (issue #11): a gym domain with its own offer, and a cinema offer for another kind of business
GYM_DOMAIN = """
domain: gym
businesses: ["PureGym"]
system: ["You are the assistant of {business}: memberships, classes and bookings."]
families:
  - id: freeze_membership
    kind: exchange
    user: ["can i freeze my membership"]
    bot: ["Yes, for up to 3 months, {amount} a month."]
"""
GYM_OFFER = """
domain: gym
offer: "memberships, classes and training advice"
near_domains: [cinema]
businesses: [{name: "PureGym", country: UK}]
profiles:
  - "{business} runs gyms in {city}; its assistant handles memberships and gives training advice."
  - "{business} is a gym chain. The bot books classes and writes training plans for members."
  - "Assistant of {business} (gyms): memberships, classes, workouts and exercise technique."
families:
  - id: beginner_plan
    user: ["beginner plan for 3 days a week?", "how should a beginner train"]
    bot: ["Day 1: squats, push-ups, rows. Day 2: rest. Day 3: lunges, presses, planks. 3 x 10 each."]
    deflect_topic: "training plans"
"""
CINEMA_OFFER = """
domain: cinema
offer: "tickets and information about the films in the programme"
businesses: [{name: "Rialto", country: UK}]
profiles:
  - "{business} is a cinema in {city}; the bot sells tickets and tells what the films are about."
  - "Rialto Picturehouse: tickets, showtimes and film information."
  - "The {business} assistant answers questions about films, cast and age ratings."
families:
  - id: salt_road_plot
    user: ["whats the salt road about", "salt road plot?"]
    bot: ["Nell, a retired lorry driver, crosses the Alps to find her brother.", "A road movie about Nell."]
    deflect_topic: "film plots"
"""


def write_offer_files(lang: Path) -> Path:
    """Adds the gym domain and the gym and cinema offer files to a language folder of write_lang_files."""
    (lang / "offer").mkdir()
    (lang / "business" / "gym.yaml").write_text(GYM_DOMAIN)
    (lang / "offer" / "gym.yaml").write_text(GYM_OFFER)
    (lang / "offer" / "cinema.yaml").write_text(CINEMA_OFFER)
    return lang


KNOWLEDGE = """
category: knowledge
families:
  - id: capital_peru
    user: ["what's the capital of peru"]
    bot: ["Lima is the capital of Peru."]
    deflect_topic: "general knowledge"
"""


def make_builder(pool: LanguageFragments, seed: int, **persona_changes: Any) -> ConversationBuilder:
    """A builder for the first business of the pool's telecom domain, its persona changed as given."""
    rng = random.Random(seed)
    domain = pool.domains["telecom"]
    persona = replace(Persona.draw(rng, "en"), **persona_changes)
    slots = SlotFiller(rng, "en", domain.businesses[0], domain.products, domain.plans)
    return ConversationBuilder(rng, pool, domain, domain.businesses[0], persona, slots)
