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
