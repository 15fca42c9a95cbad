"""Generator engine: reproducible bytes, disjoint pools, symmetric realism, slots, the provenance gate."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from classifier.schema import parse_conversation
from datagen import checks
from datagen.engine import compose, encode_jsonl_gz
from datagen.flows import FLOW_VARIANTS


def test_gzip_bytes_do_not_depend_on_time(tmp_path):
    records = [{"id": "a", "turns": [{"role": "user", "text": "olá"}]}]
    assert encode_jsonl_gz(records) == encode_jsonl_gz(records)
    assert json.loads(gzip.decompress(encode_jsonl_gz(records)))["turns"][0]["text"] == "olá"


def test_business_flow_with_a_general_request_gets_its_category(fragments):
    pool = fragments["en"]
    with_requests = 0
    for seed in range(80):
        record = compose(pool, "business", "multi_family", random.Random(f"cat:{seed}"))
        conv = parse_conversation({"id": f"c{seed}", **record})
        assert checks.meta_problems(conv) == []
        if conv.meta["general_requests"]:  # an unanswered general request at the end
            with_requests += 1
            first = conv.turns[conv.meta["general_requests"][0]].text.lower()
            expected = "knowledge" if "peru" in first else "coding"
            assert conv.meta["category"] == expected
        else:
            assert conv.meta["category"] is None
    assert with_requests > 0


@pytest.mark.parametrize("flow", ["general_chat", "embedded", "deflection", "lone_general"])
def test_excluded_category_is_never_drawn_for_the_domain(fragments, flow):
    pool = fragments["en"]
    exclusions = {"coding": ("telecom",)}
    for seed in range(30):
        for variant in FLOW_VARIANTS[flow][1]:
            record = compose(pool, flow, variant, random.Random(f"ex:{seed}"), exclusions)
            assert record["meta"]["category"] == "knowledge"
            assert not any(f.startswith("en/general/coding/") for f in record["meta"]["families"])


def test_without_exclusions_both_categories_occur(fragments):
    pool = fragments["en"]
    cats = {
        compose(pool, "embedded", "early", random.Random(f"in:{s}"))["meta"]["category"] for s in range(40)
    }
    assert cats == {"coding", "knowledge"}


def test_bare_lone_request_is_one_plain_message(fragments):
    pool = fragments["en"]
    for seed in range(30):
        for flow in ("lone_business", "lone_general"):
            record = compose(pool, flow, "bare", random.Random(f"bare:{seed}"))
            assert len(record["turns"]) == 1 and record["turns"][0]["role"] == "user"
            text = record["turns"][0]["text"].lower()
            assert "[image]" not in text and "http" not in text and not text.startswith(("hi", "hello"))
            assert record["meta"]["general_requests"] == ([0] if flow == "lone_general" else [])
