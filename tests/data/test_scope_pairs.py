"""The hand-written scope pairs (data/scope/pairs.jsonl) are well formed, complete and original.

Each pair is one exchange under two business profiles (a `system` turn): member `a` is within the
profile's declared offer (`business_support`), member `b` is the same exchange under a business whose
offer it is not (`general_assistance`). See data/scope/README.md and docs/POLICY.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from classifier.schema import NEGATIVE_LABEL, POSITIVE_LABEL, parse_conversation

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIRS = REPO_ROOT / "data" / "scope" / "pairs.jsonl"
LANGS = ("en", "de", "es", "pt-BR")
NGRAM = 8
MIN_TURN_CHARS = 30
WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    assert PAIRS.exists(), f"{PAIRS} missing"
    out = []
    with PAIRS.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            obj = json.loads(line)
            parse_conversation(obj, source=str(PAIRS), line=line_no)
            out.append(obj)
    return out


@pytest.fixture(scope="module")
def pairs(records) -> dict[str, dict[str, dict]]:
    grouped: dict[str, dict[str, dict]] = defaultdict(dict)
    for rec in records:
        meta = rec["meta"]
        assert meta["member"] not in grouped[meta["pair_id"]], f"{rec['id']}: member twice"
        grouped[meta["pair_id"]][meta["member"]] = rec
    return grouped


def test_fields_and_ids(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for rec in records:
        meta = rec["meta"]
        assert rec["lang"] in LANGS, rec["id"]
        assert rec["id"] == f"{meta['pair_id']}-{meta['member']}"
        assert meta["pair_id"].startswith(f"scope-{rec['lang']}-")
        assert meta["source"] == "hand-written"
        for key in ("domain", "profile_name", "family"):
            assert isinstance(meta[key], str) and meta[key], f"{rec['id']}: {key}"
        assert rec["turns"][0]["role"] == "system" and rec["turns"][0]["text"].strip()
        assert all(t["role"] in ("user", "assistant") for t in rec["turns"][1:]), rec["id"]


def test_pairs_are_complete_and_contrastive(pairs):
    for pid, members in pairs.items():
        assert set(members) == {"a", "b"}, f"{pid}: members {sorted(members)}"
        a, b = members["a"], members["b"]
        assert a["label"] == NEGATIVE_LABEL and b["label"] == POSITIVE_LABEL, pid
        assert a["lang"] == b["lang"], pid
        assert a["meta"]["domain"] == b["meta"]["domain"], pid
        assert a["turns"][1:] == b["turns"][1:], f"{pid}: exchanges differ"
        assert a["turns"][0]["text"] != b["turns"][0]["text"], f"{pid}: same profile"
        assert a["meta"]["profile_name"] != b["meta"]["profile_name"], pid


def test_general_turns_and_requests(records):
    for rec in records:
        meta, turns = rec["meta"], rec["turns"]
        has_bot = any(t["role"] == "assistant" for t in turns)
        for i in meta["general_turns"]:
            assert 0 <= i < len(turns) and turns[i]["role"] == "assistant", f"{rec['id']}: turn {i}"
        for i in meta.get("general_requests", []):
            assert 0 <= i < len(turns) and turns[i]["role"] == "user", f"{rec['id']}: request {i}"
        if rec["label"] == NEGATIVE_LABEL:
            assert meta["general_turns"] == [], rec["id"]
        elif has_bot:
            assert meta["general_turns"], f"{rec['id']}: general with a bot reply needs general_turns"
        else:
            assert meta["general_requests"], f"{rec['id']}: general lone request needs general_requests"


def test_counts(pairs):
    assert len(pairs) >= 400
    by_lang = Counter(m["a"]["lang"] for m in pairs.values())
    for lang in LANGS:
        assert by_lang[lang] >= 90, f"{lang}: {by_lang[lang]} pairs"
    by_domain = Counter(m["a"]["meta"]["domain"] for m in pairs.values())
    assert len(by_domain) >= 20, by_domain
    assert min(by_domain.values()) >= 10, by_domain


def test_bot_turns_are_original(records):
    """No bot turn over 30 characters shares an 8-word sequence with data/fragments or data/challenge."""
    seen: set[tuple[str, ...]] = set()
    sources = sorted((REPO_ROOT / "data" / "fragments").rglob("*.yaml"))
    sources.append(REPO_ROOT / "data" / "challenge" / "challenge.jsonl")
    for path in sources:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            text = "\n".join(
                t["text"] for line in text.splitlines() if line.strip() for t in json.loads(line)["turns"]
            )
        for line in text.splitlines():
            seen |= ngrams(line)
    assert seen, "no reference text found"
    hits = []
    for rec in records:
        if rec["meta"]["member"] != "a":
            continue  # member b repeats the same exchange
        for i, turn in enumerate(rec["turns"]):
            if turn["role"] == "assistant" and len(turn["text"]) > MIN_TURN_CHARS:
                common = ngrams(turn["text"]) & seen
                if common:
                    hits.append(f"{rec['id']} turn {i}: {' '.join(sorted(common)[0])}")
    assert not hits, "\n".join(hits[:20])
