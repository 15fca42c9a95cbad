"""A tiny valid fragment set (one language, one domain, one category) for the generator unit tests."""

from __future__ import annotations

from pathlib import Path

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
