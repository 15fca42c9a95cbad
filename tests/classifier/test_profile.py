"""Business profiles: loading, validation, precedence, and one rendering whatever way a profile comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.inference import Classifier
from classifier.profile import (
    ProfileError,
    load_profile,
    parse_profile,
    profile_digest,
    resolve_profile,
)
from classifier.schema import (
    MAX_PROFILE_CHARS,
    BusinessProfile,
    Conversation,
    RecordError,
    Turn,
    parse_conversation,
)

CINEMA = BusinessProfile(
    name="Rialto Picturehouse",
    description="Independent cinema in Bristol; the chat answers questions about the films we show.",
)
EXCHANGE = [
    Turn(role="user", text="whats The Salt Road about?"),
    Turn(role="assistant", text="The Salt Road follows Nell, a retired lorry driver, across the Alps."),
]


def conv(*, system: str | None = None, business: object = None, cid: str = "c1") -> Conversation:
    turns = ([Turn(role="system", text=system)] if system is not None else []) + EXCHANGE
    return Conversation(id=cid, turns=turns, meta={} if business is None else {"business": business})


@pytest.fixture(scope="module")
def clf(tiny_model_dir: Path) -> Classifier:
    return Classifier.load(tiny_model_dir, threads=1)


# -- loading and validation ----------------------------------------------------------------------------


def test_a_yaml_file_and_a_text_file_load(tmp_path):
    yaml_file = tmp_path / "cinema.yaml"
    yaml_file.write_text(f"name: {CINEMA.name}\ndescription: {CINEMA.description}\n", encoding="utf-8")
    assert load_profile(yaml_file) == CINEMA
    text_file = tmp_path / "cinema.txt"
    text_file.write_text(CINEMA.description + "\n", encoding="utf-8")
    assert load_profile(text_file).description.strip() == CINEMA.description


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", "  \n", "is empty"),
        ("empty.yaml", "", "is empty"),
        ("long.txt", "x" * (MAX_PROFILE_CHARS + 1), f"at most {MAX_PROFILE_CHARS} characters"),
        ("list.yaml", "- a\n- b\n", "not list"),
        ("nodesc.yaml", "name: Rialto\n", "description: Field required"),
        ("extra.yaml", "description: a cinema\nslogan: hi\n", "slogan: Extra inputs are not permitted"),
        ("broken.yaml", "description: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_profile_file_is_one_clear_error_naming_it(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(path) in str(err.value)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_profile_file_says_what_is_expected(tmp_path):
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "meta.business.description: is empty"),
        (5, "meta.business must be a text or an object with name and description, got 5"),
        ({"name": "Rialto"}, "meta.business.description is missing"),
        ("x" * (MAX_PROFILE_CHARS + 1), "meta.business.description: String should have at most"),
    ],
)
def test_an_unusable_meta_business_is_a_record_error(value, problem):
    record = {"id": "c9", "turns": [{"role": "user", "text": "hi"}], "meta": {"business": value}}
    with pytest.raises(RecordError) as err:
        parse_conversation(record, source="a.jsonl", line=3)
    assert err.value.describe().startswith("a.jsonl line 3 (id c9): ")
    assert problem in err.value.problem


def test_a_usable_meta_business_passes_as_text_or_object():
    for value in ("Rialto Picturehouse, a cinema", {"name": "Rialto", "description": "a cinema"}):
        parse_conversation(
            {"id": "c", "turns": [{"role": "user", "text": "hi"}], "meta": {"business": value}}
        )


def test_parse_profile_refuses_other_types():
    with pytest.raises(ProfileError, match="business: a business profile is a text or an object"):
        parse_profile(["a"], "business")


# -- precedence and references -------------------------------------------------------------------------


def test_the_conversations_own_profile_comes_first_then_meta_then_the_default():
    system = resolve_profile(conv(system="Rialto cinema", business="a bank"), CINEMA)
    assert system is not None and system.ref.source == "system" and system.text == "Rialto cinema"
    record = resolve_profile(conv(business="Banco Sol, a bank"), CINEMA)
    assert record is not None and record.ref.source == "record" and record.text == "Banco Sol, a bank"
    default = resolve_profile(conv(), CINEMA)
    assert default is not None and default.ref.source == "default" and default.ref.name == CINEMA.name
    assert resolve_profile(conv(), None) is None


def test_the_reference_names_a_digest_never_the_text():
    resolved = resolve_profile(conv(), CINEMA)
    assert resolved is not None
    assert resolved.ref.digest == profile_digest(CINEMA.text) and len(resolved.ref.digest) == 12
    assert CINEMA.description not in str(resolved.ref.to_dict())
    assert profile_digest("a  cinema\n") == profile_digest("a cinema")


# -- one rendering, one decision ---------------------------------------------------------------------------


def test_a_profile_renders_exactly_like_a_system_turn_with_its_text(clf):
    own = clf.encoder.encode(conv(system=CINEMA.text))
    given = clf.encoder.encode(conv(), CINEMA.text)
    assert [w.input_ids for w in own] == [w.input_ids for w in given]
    # turn numbers stay those of each input: the system turn shifts the exchange by one
    assert [s.turn - 1 for w in own for s in w.spans] == [s.turn for w in given for s in w.spans]


def test_every_way_of_giving_the_same_profile_gives_the_same_decision(clf):
    by_system = clf.classify_one(conv(system=CINEMA.text))
    by_meta = clf.classify_one(conv(business=CINEMA.model_dump()))
    by_default = clf.classify_one(conv(), profile=CINEMA)
    by_model_default = Classifier(
        clf.model_dir,
        clf.config.model_copy(update={"default_profile": CINEMA}),
        clf.backend,
        clf.encoder.tokenizer,
    ).classify_one(conv())
    scores = {p.score for p in (by_system, by_meta, by_default, by_model_default)}
    assert len(scores) == 1
    assert [p.profile.source for p in (by_system, by_meta, by_default, by_model_default)] == [
        "system",
        "record",
        "default",
        "default",
    ]
    assert len({p.profile.digest for p in (by_system, by_meta, by_default)}) == 1
    # and the profile reaches the model: without one the same exchange scores differently
    assert clf.classify_one(conv()).score != by_system.score
    assert clf.classify_one(conv()).profile is None


def test_the_encoder_reads_meta_business_itself_so_training_renders_it_too(clf):
    # training encodes with encoder.encode(conv) and no default: the record's own profile must be there
    own = clf.encoder.encode(conv(system=CINEMA.text))
    by_meta = clf.encoder.encode(conv(business=CINEMA.model_dump()))
    assert [w.input_ids for w in own] == [w.input_ids for w in by_meta]
    # the record's profile comes before a default; without either there is no prefix
    assert [w.input_ids for w in clf.encoder.encode(conv(business=CINEMA.model_dump()), "a bank")] == [
        w.input_ids for w in by_meta
    ]
    assert clf.encoder.encode(conv())[0].input_ids != by_meta[0].input_ids
