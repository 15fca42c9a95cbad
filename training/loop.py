"""The training loop: length-grouped batches with dynamic padding, span/MIL loss, AdamW + linear schedule.

Deterministic for a given seed and thread count: data order comes from a seeded numpy generator, torch is
seeded and runs with ``torch.use_deterministic_algorithms(True)``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from transformers import get_linear_schedule_with_warmup

from training.config import OptimConfig
from training.model import BOT_CHANNEL, TurnScorer, span_logits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One conversation as encoded by ``training.data.encode_example``."""

    id: str
    label: int
    mil: bool
    windows: list[list[int]]
    span_window: list[int]
    span_start: list[int]
    span_end: list[int]
    span_turn: list[int]
    span_channel: list[int]
    span_target: list[float]
    pair: str = ""  # meta.pair_id of a scope pair's member (same exchange, two profiles); "" otherwise

    @property
    def max_len(self) -> int:
        return max(len(w) for w in self.windows)


def examples_from_dataset(ds: Any) -> list[Example]:
    """Rows of the encoded ``datasets.Dataset`` (column ``input_ids`` holds the windows) as Examples."""
    cols = ds.to_dict()
    cols["windows"] = cols.pop("input_ids")
    fields = Example.__dataclass_fields__
    return [Example(**{k: cols[k][i] for k in fields}) for i in range(len(ds))]


@contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seed every generator and force deterministic kernels with a fixed thread count; restore on exit."""
    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def bf16_is_native() -> bool:
    """Whether oneDNN computes bf16 products in hardware here (AVX-512 or AMX); True when torch cannot
    tell. Without it, autocast emulates bf16: measured on a 2-vCPU AVX2 EPYC, a transformer-shaped bf16
    matmul ran at 1.2 GFLOP/s against 75 in fp32."""
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return True if probe is None else bool(probe())


def check_autocast(optim: OptimConfig) -> None:
    """Refuse a bf16 run on a CPU that would emulate bf16: it would take ~60x the planned time."""
    if optim.autocast == "bf16" and not bf16_is_native():
        raise ValueError(
            "optim.autocast is bf16, but this CPU has no native bf16 (oneDNN reports none; AVX2 only), so "
            "every product would be emulated, about 60x slower than fp32 (1.2 against 75 GFLOP/s measured "
            'on a 2-vCPU AVX2 EPYC): run with --autocast none (make train TRAIN_ARGS="--autocast none"; '
            "or optim.autocast: none in the config). "
            "fp32 gives a model of the same recipe, not bit-identical to a bf16 run"
        )


def subsample(examples: Sequence[Example], max_windows: int | None, seed: int) -> list[Example]:
    """A deterministic random subset of whole conversations holding at most ``max_windows`` windows."""
    if max_windows is None or sum(len(e.windows) for e in examples) <= max_windows:
        return list(examples)
    order = np.random.default_rng(seed).permutation(len(examples))
    kept, total = [], 0
    for i in order:
        n = len(examples[i].windows)
        if total + n > max_windows:
            continue
        kept.append(i)
        total += n
    return [examples[i] for i in sorted(kept)]


def sample_indices(n: int, k: int, seed: int) -> list[int]:
    """``k`` of ``range(n)`` drawn without replacement (seeded), in increasing order."""
    return sorted(np.random.default_rng(seed).choice(n, size=k, replace=False).tolist())


def weighted_copies(n: int, weight: float, seed: int) -> tuple[int, list[int]]:
    """How ``n`` items are used at ``weight``: each ``int(weight)`` times, plus once more the items at
    the returned indices, a seeded share ``weight - int(weight)`` of them (at least one when there is a
    fraction and any item)."""
    whole, frac = int(weight), weight - int(weight)
    if frac <= 0 or n == 0:
        return whole, []
    return whole, sample_indices(n, max(1, round(frac * n)), seed)


def with_pairs_repeated(examples: Sequence[Example], repeat: float, seed: int) -> list[Example]:
    """``examples`` with every complete scope pair used ``repeat`` times (``weighted_copies``; both
    members of a pair always together).

    A copy's members get their own pair key (``<pair_id>#<k>``), so co-batching keeps each copy's two
    members together without putting all copies of an exchange in one batch. With ``repeat`` 1 the
    examples come back as they were, in the same order.
    """
    if repeat < 1:
        raise ValueError(f"pair repeat must be at least 1, got {repeat}")
    members: dict[str, list[Example]] = {}
    for e in examples:
        if e.pair:
            members.setdefault(e.pair, []).append(e)
    pairs = [key for key, group in members.items() if len(group) == 2]
    whole, extra = weighted_copies(len(pairs), repeat, seed)
    copies = [(key, c) for c in range(1, whole) for key in pairs] + [(pairs[i], whole) for i in extra]
    return [*examples, *(replace(e, pair=f"{key}#{c}") for key, c in copies for e in members[key])]


def batch_units(examples: Sequence[Example], *, keep_pairs: bool) -> list[list[int]]:
    """The indices that must share a batch: each conversation alone, or with ``keep_pairs`` the members
    of a scope pair together (in data order; a pair whose other member is not here stays alone)."""
    if not keep_pairs:
        return [[i] for i in range(len(examples))]
    units: list[list[int]] = []
    unit_of_pair: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        if not e.pair:
            units.append([i])
        elif e.pair in unit_of_pair:
            unit_of_pair[e.pair].append(i)
        else:
            unit_of_pair[e.pair] = [i]
            units.append(unit_of_pair[e.pair])
    return units


def length_grouped_batches(
    examples: Sequence[Example],
    batch_size: int,
    group_size: int,
    rng: np.random.Generator,
    *,
    keep_pairs: bool = False,
) -> list[list[int]]:
    """Shuffle, sort by length inside mega-batches, cut into batches of ~``batch_size`` windows, shuffle.

    A conversation is never split across batches (its flow-level loss needs all its windows); with
    ``keep_pairs`` neither is a scope pair (its pair loss needs both members). Without pairs the
    batches are exactly those of single conversations.
    """
    units = batch_units(examples, keep_pairs=keep_pairs)
    order = rng.permutation(len(units))
    mega = max(1, batch_size * group_size)
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(
            (units[u] for u in order[start : start + mega]),
            key=lambda unit: -max(examples[i].max_len for i in unit),
        )
        batch: list[int] = []
        windows = 0
        for unit in chunk:
            n = sum(len(examples[i].windows) for i in unit)
            if batch and windows + n > batch_size:
                batches.append(batch)
                batch, windows = [], 0
            batch.extend(int(i) for i in unit)
            windows += n
        if batch:
            batches.append(batch)
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor  # [W, T]
    attention_mask: torch.Tensor
    span_window: torch.Tensor  # [S] row of the span's window in the batch
    span_start: torch.Tensor
    span_end: torch.Tensor
    span_channel: torch.Tensor
    span_target: torch.Tensor  # float, NO_TARGET (-1) where the turn has no target
    span_example: torch.Tensor  # [S] position of the span's conversation in the batch
    span_turn: list[int]  # [S] turn index inside its conversation
    mil: torch.Tensor  # [E] bool
    n_windows: int
    label: list[int]  # [E] 1 = general_assistance
    pair: list[str]  # [E] Example.pair


def collate(examples: Sequence[Example], pad_id: int) -> Batch:
    windows = [w for e in examples for w in e.windows]
    width = max(len(w) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, w in enumerate(windows):
        ids[row, : len(w)] = torch.tensor(w, dtype=torch.long)
        mask[row, : len(w)] = 1
    sw: list[int] = []
    st: list[int] = []
    en: list[int] = []
    ch: list[int] = []
    tg: list[float] = []
    ex: list[int] = []
    tu: list[int] = []
    offset = 0
    for k, e in enumerate(examples):
        sw.extend(offset + w for w in e.span_window)
        st.extend(e.span_start)
        en.extend(e.span_end)
        ch.extend(e.span_channel)
        tg.extend(e.span_target)
        ex.extend([k] * len(e.span_start))
        tu.extend(e.span_turn)
        offset += len(e.windows)
    return Batch(
        input_ids=ids,
        attention_mask=mask,
        span_window=torch.tensor(sw, dtype=torch.long),
        span_start=torch.tensor(st, dtype=torch.long),
        span_end=torch.tensor(en, dtype=torch.long),
        span_channel=torch.tensor(ch, dtype=torch.long),
        span_target=torch.tensor(tg, dtype=torch.float32),
        span_example=torch.tensor(ex, dtype=torch.long),
        span_turn=tu,
        mil=torch.tensor([e.mil for e in examples], dtype=torch.bool),
        n_windows=len(windows),
        label=[e.label for e in examples],
        pair=[e.pair for e in examples],
    )


def batch_span_logits(model: TurnScorer, batch: Batch) -> torch.Tensor:
    token_logits = model(batch.input_ids, batch.attention_mask)
    if batch.span_start.numel() == 0:
        return token_logits.new_zeros(0)
    return span_logits(token_logits, batch.span_window, batch.span_start, batch.span_end, batch.span_channel)


def batch_loss(
    model: TurnScorer, batch: Batch, mil_weight: float, pair_weight: float = 0.0
) -> tuple[torch.Tensor, int] | None:
    """Mean over turn BCE, flow-level (MIL) and scope-pair terms; None when the batch has no term."""
    return hard_loss(batch_span_logits(model, batch), batch, mil_weight, pair_weight)


def hard_loss(
    logits: torch.Tensor, batch: Batch, mil_weight: float, pair_weight: float = 0.0
) -> tuple[torch.Tensor, int] | None:
    """``batch_loss`` on span logits already computed (one per span of ``batch``)."""
    has_target = batch.span_target >= 0
    terms = []
    if has_target.any():
        terms.append(
            F.binary_cross_entropy_with_logits(
                logits[has_target], batch.span_target[has_target], reduction="sum"
            )
        )
    n_terms = int(has_target.sum())
    for k in torch.nonzero(batch.mil).flatten().tolist():
        bot = (batch.span_example == k) & (batch.span_channel == BOT_CHANNEL)
        if bot.any():
            flow = logits[bot].max()
            terms.append(mil_weight * F.binary_cross_entropy_with_logits(flow, flow.new_tensor(1.0)))
            n_terms += 1
    if pair_weight > 0:
        pair_terms = pair_ranking_terms(logits, batch)
        terms.extend(pair_weight * t for t in pair_terms)
        n_terms += len(pair_terms)
    if not terms:
        return None
    return torch.stack(terms).sum() / n_terms, n_terms


def flow_logit(logits: torch.Tensor, batch: Batch, k: int) -> torch.Tensor | None:
    """Conversation ``k``'s flow logit as ``classifier.inference.aggregate_turns`` reads it: its most
    general bot span; with no bot reply, its most general span (the request)."""
    own = batch.span_example == k
    bot = own & (batch.span_channel == BOT_CHANNEL)
    spans = bot if bot.any() else own
    return logits[spans].max() if spans.any() else None


def pair_ranking_terms(logits: torch.Tensor, batch: Batch) -> list[torch.Tensor]:
    """One term per scope pair of the batch: ``-log sigmoid(z_general - z_business)``.

    The two members differ only in their profile, so this gradient moves nothing that the exchange
    alone decides: it teaches the model to read the reply against the business (Teney et al., 2020,
    "Learning what makes a difference from counterfactual examples and gradient supervision").
    """
    members: dict[str, dict[int, int]] = {}
    for k, (pair, label) in enumerate(zip(batch.pair, batch.label, strict=True)):
        if pair:
            members.setdefault(pair, {})[label] = k
    terms = []
    for by_label in members.values():
        if len(by_label) != 2:
            continue  # a member alone, or two of one label: nothing to rank
        z_business, z_general = flow_logit(logits, batch, by_label[0]), flow_logit(logits, batch, by_label[1])
        if z_business is not None and z_general is not None:
            terms.append(F.softplus(z_business - z_general))
    return terms


def make_optimizer(model: TurnScorer, optim: OptimConfig) -> torch.optim.Optimizer:
    """AdamW; the new head learns faster than the pretrained encoder; no decay on biases and norms."""
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = optim.head_lr if name.startswith("head.") else optim.lr
        decay = 0.0 if param.ndim < 2 or "LayerNorm" in name or "norm" in name.lower() else optim.weight_decay
        groups.setdefault((lr, decay), []).append(param)
    return torch.optim.AdamW(
        [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()], lr=optim.lr
    )


# (model, batch) -> (mean loss, number of terms), None when the batch has no term
LossFn = Callable[[TurnScorer, Batch], tuple[torch.Tensor, int] | None]


@dataclass
class FitResult:
    steps: int
    seconds: float
    losses: list[float]
    windows_seen: int

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0


def planned_steps(n_batches_per_epoch: int, optim: OptimConfig) -> int:
    steps = math.ceil(n_batches_per_epoch * optim.epochs)
    return min(steps, optim.max_steps) if optim.max_steps else steps


def fit(
    model: TurnScorer,
    examples: Sequence[Example],
    optim: OptimConfig,
    *,
    pad_id: int,
    seed: int,
    on_step: Callable[[int, int, float], None] | None = None,
    loss_fn: LossFn | None = None,
) -> FitResult:
    """Train ``model`` in place; ``on_step(step, total, loss)`` is called after every step (progress).

    ``loss_fn(model, batch)`` replaces ``batch_loss`` (a distillation loss, ``training.distill``); it
    runs inside the same autocast as the default.
    """
    compute: LossFn = loss_fn or partial(
        batch_loss, mil_weight=optim.mil_weight, pair_weight=optim.pair_weight
    )
    keep_pairs = optim.pair_weight > 0
    rng = np.random.default_rng(seed)
    per_epoch = len(
        length_grouped_batches(
            examples, optim.batch_size, optim.length_group_size, rng, keep_pairs=keep_pairs
        )
    )
    total = planned_steps(per_epoch, optim)
    optimizer = make_optimizer(model, optim)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(optim.warmup_ratio * total), total)
    rng = np.random.default_rng(seed)  # same order as the count above
    model.train()
    losses: list[float] = []
    step, windows_seen = 0, 0
    start = time.perf_counter()
    while step < total:
        for indices in length_grouped_batches(
            examples, optim.batch_size, optim.length_group_size, rng, keep_pairs=keep_pairs
        ):
            if step >= total:
                break
            batch = collate([examples[i] for i in indices], pad_id)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=optim.autocast == "bf16"):
                result = compute(model, batch)
            if result is not None:
                loss, _ = result
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), optim.max_grad_norm)
                optimizer.step()
                losses.append(float(loss.detach()))
            scheduler.step()
            step += 1
            windows_seen += batch.n_windows
            if on_step is not None:
                on_step(step, total, losses[-1] if losses else float("nan"))
    model.eval()
    return FitResult(
        steps=step, seconds=time.perf_counter() - start, losses=losses, windows_seen=windows_seen
    )
