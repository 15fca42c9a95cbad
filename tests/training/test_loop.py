"""The training loop: determinism of a fit (fp32 and bf16 autocast); scope pairs in batches and loss."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from training import loop
from training.config import OptimConfig
from training.loop import (
    Example,
    batch_span_logits,
    batch_units,
    collate,
    deterministic,
    fit,
    flow_logit,
    hard_loss,
    length_grouped_batches,
    pair_ranking_terms,
    with_pairs_repeated,
)
from training.model import BOT_CHANNEL, REQUEST_CHANNEL, TurnScorer
from training.tiny import tiny_encoder_config

VOCAB = 64


def _examples(count: int, seed: int) -> list[Example]:
    """Random one-window conversations: a user span and a bot span each with a target."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        length = rng.randint(8, 24)
        window = [1] + [rng.randint(4, VOCAB - 1) for _ in range(length - 2)] + [2]
        cut = length // 2
        label = i % 2
        out.append(Example(
            id=f"c{i}", label=label, mil=False, windows=[window], span_window=[0, 0],
            span_start=[1, cut], span_end=[cut, length - 1], span_turn=[0, 1],
            span_channel=[REQUEST_CHANNEL, BOT_CHANNEL], span_target=[float(label), float(label)],
        ))  # fmt: skip
    return out


def _fit_weights(autocast: str) -> dict[str, torch.Tensor]:
    optim = OptimConfig(batch_size=4, epochs=1, lr=1e-3, head_lr=1e-3, autocast=autocast)
    with deterministic(seed=3, threads=1):
        model = TurnScorer.from_config(tiny_encoder_config(VOCAB))
        fit(model, _examples(24, seed=1), optim, pad_id=0, seed=3)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("autocast", ["none", "bf16"])
def test_fit_is_deterministic(autocast):
    a, b = _fit_weights(autocast), _fit_weights(autocast)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_autocast_changes_the_computation_but_keeps_fp32_weights():
    full, mixed = _fit_weights("none"), _fit_weights("bf16")
    assert all(v.dtype == torch.float32 for v in mixed.values() if v.is_floating_point())
    assert any(not torch.equal(full[k], mixed[k]) for k in full)


def _paired(examples: list[Example]) -> list[Example]:
    """Consecutive (business, general) examples as the two members of a scope pair each."""
    return [replace(e, pair=f"p{i // 2}") for i, e in enumerate(examples)]


def test_pairs_share_a_batch_only_when_kept_together():
    examples = _paired(_examples(40, seed=2))
    kept = length_grouped_batches(examples, 4, 2, np.random.default_rng(5), keep_pairs=True)
    batch_of = {i: b for b, batch in enumerate(kept) for i in batch}
    assert sorted(batch_of) == list(range(40))
    assert all(batch_of[2 * p] == batch_of[2 * p + 1] for p in range(20))
    apart = length_grouped_batches(examples, 4, 2, np.random.default_rng(5), keep_pairs=False)
    batch_of = {i: b for b, batch in enumerate(apart) for i in batch}
    assert any(batch_of[2 * p] != batch_of[2 * p + 1] for p in range(20))


def test_without_pairs_keeping_pairs_changes_no_batch():
    examples = _examples(40, seed=2)
    for keep in (False, True):
        assert length_grouped_batches(examples, 4, 2, np.random.default_rng(5), keep_pairs=keep) == (
            length_grouped_batches(examples, 4, 2, np.random.default_rng(5))
        )


def test_pair_repeat_one_keeps_the_examples_as_they_were():
    examples = _paired(_examples(10, seed=2))
    assert with_pairs_repeated(examples, 1.0, seed=0) == examples


def test_pair_repeat_copies_whole_pairs_each_under_its_own_key():
    examples = _paired(_examples(10, seed=2))[:9]  # p4 keeps one member: an incomplete pair
    repeated = with_pairs_repeated(examples, 3.0, seed=0)
    assert repeated[:9] == examples
    copies = repeated[9:]
    assert len(copies) == 2 * 4 * 2  # pairs p0-p3, two copies each, both members
    assert {e.pair for e in copies} == {f"p{p}#{c}" for p in range(4) for c in (1, 2)}
    assert all(e.pair.split("#")[0] != "p4" for e in copies)
    by_id = {e.id: e for e in examples}
    assert all(replace(e, pair=by_id[e.id].pair) == by_id[e.id] for e in copies)
    units = batch_units(repeated, keep_pairs=True)
    assert sorted(len(u) for u in units) == [1] + [2] * 12  # every copy its own two-member unit


def test_a_fractional_pair_repeat_copies_a_seeded_share_of_the_pairs_once():
    examples = _paired(_examples(40, seed=2))
    repeated = with_pairs_repeated(examples, 1.5, seed=7)
    copied = {e.pair for e in repeated[40:]}
    assert len(repeated) == 40 + 2 * 10 and len(copied) == 10
    assert all(key.endswith("#1") for key in copied)
    assert with_pairs_repeated(examples, 1.5, seed=7) == repeated
    assert {e.pair for e in with_pairs_repeated(examples, 1.5, seed=8)[40:]} != copied


def test_a_pair_repeat_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        with_pairs_repeated(_paired(_examples(4, seed=2)), 0.5, seed=0)


def test_pair_ranking_term_is_minus_log_sigmoid_of_the_members_gap():
    examples = _paired(_examples(4, seed=3))
    batch = collate(examples, pad_id=0)
    # spans: (user, bot) per conversation; the flow logit is the bot span's
    logits = torch.tensor([0.0, 1.5, 0.0, -0.5, 0.0, 2.0, 0.0, 2.0])
    terms = pair_ranking_terms(logits, batch)
    # pair p0: business member c0 (bot 1.5), general member c1 (bot -0.5): ranked the wrong way round
    assert torch.allclose(torch.stack(terms), torch.tensor([F.softplus(torch.tensor(2.0)), math.log(2.0)]))
    plain = hard_loss(logits, batch, mil_weight=1.0)
    ranked = hard_loss(logits, batch, mil_weight=1.0, pair_weight=0.5)
    assert plain is not None and ranked is not None
    assert ranked[1] == plain[1] + 2
    expected = (plain[0] * plain[1] + 0.5 * torch.stack(terms).sum()) / ranked[1]
    assert torch.allclose(ranked[0], expected)


def test_a_pair_member_alone_in_a_batch_adds_no_pair_term():
    examples = _paired(_examples(4, seed=3))
    batch = collate(examples[1:], pad_id=0)
    logits = torch.zeros(6)
    assert len(pair_ranking_terms(logits, batch)) == 1


def test_the_pair_loss_raises_the_general_member_above_the_business_one():
    examples = [replace(e, span_target=[-1.0, -1.0]) for e in _paired(_examples(8, seed=4))]
    optim = OptimConfig(batch_size=4, epochs=30, lr=1e-3, head_lr=1e-2, warmup_ratio=0.0, pair_weight=1.0)
    with deterministic(seed=3, threads=1):
        model = TurnScorer.from_config(tiny_encoder_config(VOCAB))
        fit(model, examples, optim, pad_id=0, seed=3)
        batch = collate(examples, pad_id=0)
        with torch.no_grad():
            logits = batch_span_logits(model, batch)
    flows = [float(flow_logit(logits, batch, k)) for k in range(len(examples))]
    assert all(flows[2 * p + 1] > flows[2 * p] for p in range(4))


def test_a_bf16_run_is_refused_where_bf16_would_be_emulated(monkeypatch):
    monkeypatch.setattr(loop, "bf16_is_native", lambda: False)
    with pytest.raises(ValueError, match=r"no native bf16.*--autocast none"):
        loop.check_autocast(OptimConfig(autocast="bf16"))
    loop.check_autocast(OptimConfig(autocast="none"))
    monkeypatch.setattr(loop, "bf16_is_native", lambda: True)
    loop.check_autocast(OptimConfig(autocast="bf16"))
