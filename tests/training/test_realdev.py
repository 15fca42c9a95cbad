"""Realdev under business profiles: one profile per source/domain, rotated for the general sets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from classifier.profile import ProfileError, resolve_profile
from classifier.schema import Conversation, Turn
from training.realdev import load_realdev_profiles, with_profiles

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "scope" / "realdev_profiles.yaml"


def conv(cid: str, source: str, domain: str, **meta: object) -> Conversation:
    return Conversation(
        id=cid, turns=[Turn(role="user", text="hi")], meta={"source": source, "domain": domain, **meta}
    )


def test_the_committed_profiles_load_and_cover_every_realdev_source():
    profiles = load_realdev_profiles(COMMITTED)
    assert {
        "banking77/banking",
        "clinc150/banking",
        "clinc150-oos/general",
        "hh-rlhf-helpful-base/general",
    } <= set(profiles)
    assert len(profiles["hh-rlhf-helpful-base/general"]) > 1


def test_each_conversation_gets_its_sources_profile_and_general_sets_rotate():
    profiles = load_realdev_profiles(COMMITTED)
    convs = [conv(f"hh-{i}", "hh-rlhf-helpful-base", "general") for i in range(40)]
    convs += [conv("b-1", "banking77", "banking"), conv("x", "unknown", "none")]
    convs.append(conv("own", "banking77", "banking", business="Some other shop"))
    out = with_profiles(convs, profiles)
    names = {resolve_profile(c).ref.name for c in out[:40]}
    assert len(names) > 1  # rotated, by a stable hash of the id
    assert with_profiles(convs, profiles) == out
    assert resolve_profile(out[40]).ref.name == profiles["banking77/banking"][0].name
    assert out[41] == convs[41] and out[42] == convs[42]  # no profile for it / its own profile stays


def test_a_bad_profiles_file_names_the_key(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("banking77/banking:\n  name: X\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"banking77/banking.*description"):
        load_realdev_profiles(path)


def test_missing_realdev_directory_is_reported_not_silent(tmp_path, caplog):
    from training.train import load_realdev

    with caplog.at_level(logging.WARNING, logger="training.train"):
        assert load_realdev(tmp_path / "absent", 10, 13) == {}
    assert "realdev is not evaluated" in caplog.text
    assert load_realdev(None, 10, 13) == {}
