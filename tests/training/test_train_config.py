from __future__ import annotations

import yaml

from training.config import load_config


def test_settings_at_their_neutral_values_stay_out_of_the_digest_and_the_copy():
    # a run without the pair settings keeps the digest it had before they existed (shipped provenance)
    base = load_config()
    optim = base.optim.model_copy(update={"pair_weight": 0.0, "pair_repeat": 1.0})
    neutral = base.model_copy(update={"optim": optim})
    assert neutral.digest() == base.digest()
    assert not {"pair_weight", "pair_repeat"} & set(yaml.safe_load(neutral.to_yaml())["optim"])


def test_pair_repeat_above_one_is_part_of_the_digest_and_the_copy():
    base = load_config()
    repeated = base.model_copy(update={"optim": base.optim.model_copy(update={"pair_repeat": 2.0})})
    assert repeated.digest() != base.digest()
    assert yaml.safe_load(repeated.to_yaml())["optim"]["pair_repeat"] == 2.0
