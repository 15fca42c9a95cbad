"""Every flow variant composes a conversation whose label and meta follow docs/POLICY.md."""

from __future__ import annotations

import random

import pytest

from classifier.schema import parse_conversation
from datagen import checks
from datagen.engine import compose
from datagen.flows import FLOW_VARIANTS, GENERAL
from datagen.fragments import load_fragments_strict

CASES = [(flow, variant) for flow, (_, variants) in FLOW_VARIANTS.items() for variant in variants]


@pytest.fixture(scope="module")
def pool(tmp_path_factory, write_lang):
    root = tmp_path_factory.mktemp("fragments")
    write_lang(root)
    return load_fragments_strict(root, ("en",))["en"]


@pytest.mark.parametrize(("flow", "variant"), CASES)
def test_flow_label_and_meta(pool, flow, variant):
    for seed in range(15):
        record = compose(pool, flow, variant, random.Random(f"{flow}:{variant}:{seed}"))
        conv = parse_conversation({"id": f"t{seed}", **record})
        assert conv.label == FLOW_VARIANTS[flow][0]
        assert checks.meta_problems(conv) == []
        meta = conv.meta
        assert meta["flow"] == flow and meta["variant"] == variant and meta["source"] == "generator"
        if flow.startswith("lone_"):
            assert not conv.has_bot_reply
            assert bool(meta["general_requests"]) == (conv.label == GENERAL)
        if flow == "deflection":
            assert meta["general_turns"] == [] and meta["general_requests"]
            assert meta["category"] == "coding"
        if flow in ("business", "smalltalk_explanation", "lone_business"):
            # POLICY section 3: the first request's category, null only without a general request
            assert meta["category"] == ("coding" if meta["general_requests"] else None)
        if variant == "bare":
            assert [t.role for t in conv.turns] == ["user"]
        if variant == "insist_comply":
            complied = conv.turns[meta["general_turns"][0]].text
            assert complied.startswith(("Ok: ", "Ok:\n"))


def test_same_seed_same_conversation(pool):
    a = compose(pool, "embedded", "middle", random.Random("x"))
    b = compose(pool, "embedded", "middle", random.Random("x"))
    assert a == b
