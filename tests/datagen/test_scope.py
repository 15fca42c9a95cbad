"""Issue #11 in the generator: offer files, offer flows, scope pairs, profile share, category gating."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from datagen_samples import write_offer_files

from classifier.schema import parse_conversation
from datagen import checks
from datagen.config import FIRST_CATEGORIES, GenerateConfig, ScopeConfig, load_config
from datagen.engine import (
    PAIR_FLOW,
    GenerationError,
    as_offer_chat,
    compose,
    compose_pair,
    generate,
    split_schedule,
)
from datagen.flows import BUSINESS, FLOW_VARIANTS, GENERAL
from datagen.fragments import OFFER_CATEGORY, FragmentReport, load_fragments_strict, load_offer


@pytest.fixture(scope="module")
def pool(tmp_path_factory, write_lang):
    root = tmp_path_factory.mktemp("fragments")
    write_offer_files(write_lang(root))
    return load_fragments_strict(root, ("en",))["en"]


def test_offer_files_load_with_their_profiles_and_families(pool):
    gym, cinema = pool.offers["gym"], pool.offers["cinema"]
    assert gym.near_domains == ("cinema",) and len(gym.profiles) == 3
    assert [f.uid for f in cinema.families] == ["en/offer/cinema/salt_road_plot"]
    assert cinema.families[0].category == OFFER_CATEGORY and cinema.locales["Rialto"] == ("UK", None)


def test_a_bad_offer_file_names_the_problem(tmp_path):
    path = tmp_path / "gym.yaml"
    path.write_text(
        'domain: gym\noffer: "x"\nnear_domains: [gym, moon]\nbusinesses: ["A"]\nprofiles: ["p"]\n'
    )
    report = FragmentReport()
    load_offer(path, "en", report)
    text = "\n".join(report.errors)
    assert "'near_domains' holds 'gym'" in text and "'near_domains' holds 'moon'" in text
    assert "'profiles' has 1 usable strings, at least 3 needed" in text


@pytest.mark.parametrize("flow", ["offer_business", "offer_embedded", "offer_deflection"])
def test_offer_flows_label_the_offer_by_the_business(pool, flow):
    for seed in range(10):
        variant = FLOW_VARIANTS[flow][1][seed % 4]
        record = compose(pool, flow, variant, random.Random(f"{flow}:{seed}"))
        conv = parse_conversation({"id": f"t{seed}", **record})
        assert conv.label == FLOW_VARIANTS[flow][0]
        assert checks.meta_problems(conv) == []
        offer_uids = [u for u in record["meta"]["families"] if "/offer/" in u]
        assert len(offer_uids) == 1
        if flow == "offer_business":  # its own offer: a gym's training plan at the gym
            assert record["meta"]["domain"] == "gym" and offer_uids[0].startswith("en/offer/gym/")
            assert record["meta"]["general_turns"] == []
            # ... with the gym in sight: without a profile the exchange shows no business (POLICY)
            assert record["turns"][0]["role"] == "system"
        else:  # another kind of business's offer: never the business's own
            assert not offer_uids[0].startswith(f"en/offer/{record['meta']['domain']}/")
            assert record["meta"]["category"] == OFFER_CATEGORY
        if flow == "offer_embedded":
            assert record["meta"]["general_turns"]


def test_the_check_catches_an_own_offer_performed_with_no_profile(pool):
    record = compose(pool, "offer_business", "early", random.Random(0))
    bare = {**record, "turns": [t for t in record["turns"] if t["role"] != "system"]}
    assert checks.meta_problems(parse_conversation({"id": "t", **record})) == []
    problems = checks.meta_problems(parse_conversation({"id": "t", **bare}))
    assert problems == ["t: an offer_business performs the offer with no profile in sight"]


def test_a_scope_pair_is_one_exchange_under_two_profiles_with_opposite_labels(pool):
    scope = ScopeConfig(pair_share=0.5, lone_pair_rate=0.3)
    shapes = Counter()
    for seed in range(30):
        a, b = compose_pair(pool, random.Random(seed), scope)
        assert (a["label"], b["label"]) == (BUSINESS, GENERAL)
        assert a["turns"][0]["role"] == b["turns"][0]["role"] == "system"
        assert a["turns"][0]["text"] != b["turns"][0]["text"]
        assert a["turns"][1:] == b["turns"][1:]
        assert a["meta"]["offer_domain"] == b["meta"]["offer_domain"] == a["meta"]["domain"]
        assert b["meta"]["domain"] != a["meta"]["domain"] and b["meta"]["category"] == OFFER_CATEGORY
        assert a["meta"]["general_turns"] == [] and a["meta"]["general_requests"] == []
        has_reply = any(t["role"] == "assistant" for t in b["turns"])
        assert bool(b["meta"]["general_turns"]) == has_reply and b["meta"]["general_requests"]
        for record in (a, b):
            conv = parse_conversation({"id": "p", **record})
            assert checks.meta_problems(conv) == []
            assert "{" not in conv.turns[0].text  # the profile's slots are filled
        shapes[b["meta"]["variant"]] += 1
    assert shapes["lone"] and shapes["exchange"]


def test_an_offer_chat_is_the_pairs_exchange_with_no_business_in_sight(pool):
    # POLICY: without a profile the conversation decides; an offer exchange alone shows no business,
    # so the bot answering it acts as a general-purpose assistant
    for seed in range(20):
        a, b = compose_pair(pool, random.Random(seed), ScopeConfig(lone_pair_rate=0.3))
        a["id"], b["id"] = "gen-x-00001a", "gen-x-00001b"
        chat = as_offer_chat(b)
        assert chat["id"] == "gen-x-00001" and chat["label"] == GENERAL
        assert chat["turns"] == a["turns"][1:] and all(t["role"] != "system" for t in chat["turns"])
        meta = chat["meta"]
        assert meta["flow"] == "offer_chat" and meta["domain"] == a["meta"]["domain"]
        assert "business" not in meta and "pair_id" not in meta and "member" not in meta
        for i in meta["general_turns"]:
            assert chat["turns"][i]["role"] == "assistant"
        for i in meta["general_requests"]:
            assert chat["turns"][i]["role"] == "user"
        assert checks.meta_problems(parse_conversation(chat)) == []
    shown = {**chat, "meta": {**chat["meta"], "business": "Rialto"}}
    assert any("shows a business" in p for p in checks.meta_problems(parse_conversation(shown)))


def test_a_config_with_offer_chat_generates_them_consistently(repo_root):
    # the committed config leaves offer_chat out (its retrain did not ship: docs/MODEL.md); a config
    # may give it a share, and the split then holds offer chats with no business in sight
    config = load_config(repo_root / "data" / "generate.yaml")
    mix = {**config.flow_mix, "general_chat": config.flow_mix["general_chat"] - 0.1, "offer_chat": 0.1}
    config = config.model_copy(update={
        "fragments_root": repo_root / config.fragments_root, "flow_mix": mix,
        "split_sizes": {"train": 200, "validation": 40, "test": 40, "heldout": 40},
    })  # fmt: skip
    chats = [r for r in generate(config).records["train"] if r["meta"]["flow"] == "offer_chat"]
    assert len(chats) == round(0.1 * 200 * (1 - config.scope.pair_share))
    for record in chats:
        conv = parse_conversation(record)
        assert conv.label == GENERAL and checks.meta_problems(conv) == []
        assert "business" not in record["meta"] and all(t.role != "system" for t in conv.turns)


def test_pairs_take_their_share_of_a_split_and_a_zero_share_takes_none():
    config = load_config()
    off = config.model_copy(update={"scope": ScopeConfig()})
    assert all(flow != PAIR_FLOW for _, flow in split_schedule("validation", off))
    paired = config.model_copy(update={"scope": ScopeConfig(pair_share=0.3)})
    schedule = split_schedule("validation", paired)
    pairs = sum(flow == PAIR_FLOW for _, flow in schedule)
    assert pairs == 150 and len(schedule) + pairs == config.split_sizes["validation"]


def test_the_committed_config_enables_scope_as_issue_11_asks():
    config = load_config()
    assert set(FIRST_CATEGORIES) < set(config.categories) and "focused_chat" in config.categories
    assert config.scope.pair_share >= 0.3 and config.scope.offer_profiles
    assert {"offer_business", "offer_embedded", "offer_deflection"} <= set(config.flow_mix)
    assert ScopeConfig() == ScopeConfig(pair_share=0.0)  # the defaults draw nothing new


def test_a_higher_system_rate_gives_more_profiles(pool):
    def system_share(rate: float) -> float:
        scope = ScopeConfig(system_rate=rate)
        records = [
            compose(pool, "business", "multi_family", random.Random(i), scope=scope) for i in range(200)
        ]
        gym = [r for r in records if r["meta"]["domain"] == "gym"]  # the sample telecom has no prompt
        return sum(r["turns"][0]["role"] == "system" for r in gym) / len(gym)

    assert system_share(0.0) == 0.0
    assert system_share(0.9) > 0.8


def test_the_business_name_moves_out_of_meta_business_when_asked(pool):
    scope = ScopeConfig(system_rate=0.0, meta_business_rate=0.0)
    record = compose(pool, "business", "multi_family", random.Random(1), scope=scope)
    assert "business" not in record["meta"] and record["meta"]["business_name"]


def test_overlapping_offers_are_never_each_others_other_business(pool):
    # without the overlap the gym's and the cinema's pairs have each other as the other business; with
    # it none is left (the sample telecom has no profile), and the generator says so
    seen = {compose_pair(pool, random.Random(seed), ScopeConfig())[1]["meta"]["domain"] for seed in range(20)}
    assert seen == {"gym", "cinema"}
    with pytest.raises(GenerationError, match="no other business for a scope pair"):
        compose_pair(pool, random.Random(0), ScopeConfig(overlapping_offers=(("gym", "cinema"),)))


def test_configs_refuse_unknown_categories_and_domains():
    with pytest.raises(ValueError, match="categories: 'poetry' is not a category"):
        GenerateConfig.model_validate({**load_config().model_dump(), "categories": ["poetry"]})
    with pytest.raises(ValueError, match="not domains or offer domains"):
        ScopeConfig(overlapping_offers=(("gym", "moon"),))
