"""Which conversations of an archive a person should review: uncertain, contested, diverse, stratified.

``pick(items, classifier, n, ...)`` streams the items of ``classifier.readers.read_conversations`` (after
``classifier.scoring.accounting.unique_ids``) in chunks, scores each chunk with the model and keeps only a
bounded pool of candidates, so memory stays flat whatever the archive's size (the pool holds
``POOL_FACTOR * n`` conversations, plus the 8-byte digests of the ids seen for duplicate detection, as
``score`` does). At the end it chooses ``n`` of the pool.

Criteria, each recorded with the pick (``Pick.reasons``):

* **uncertainty**: 1 at the threshold, 0 at score 0 or 1 (``uncertainty``);
* **disagreement**: with a second opinion when one is given (another model folder, e.g. the previous
  model: the gap between the two calibrated scores, 1 when their labels differ), and where the evidence
  contradicts the label (``evidence_contradiction``): a flow labelled general whose requests all look like
  business, or a flow labelled business with a general-looking request and a bot reply near the line;
* **diversity**: the pool is clustered (k-means on a sketch of each conversation's token ids, see
  ``sketch``) and picks go round-robin over clusters, best first;
* **strata**: language x channel; every stratum of the pool gets picks in proportion to its share of the
  archive, at least one where possible;
* **near-duplicates** are removed: a candidate whose sketch has cosine >= ``NEAR_DUPLICATE_COSINE`` with
  an earlier pick is skipped;
* a share of **random** picks (``random_share``, a reservoir sample of the whole archive) keeps an
  unbiased slice for evaluation.

The shipped ONNX graph returns per-token logits only, not pooled encoder states, so the diversity sketch is
a hashed bag of the token ids the model reads (the rendered windows), L2-normalised: cheap, deterministic
and independent of the model's weights. numpy only (the core's rule).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.inference import Classifier, Prediction
from classifier.readers import Record
from classifier.schema import POSITIVE_LABEL, BusinessProfile, Conversation, RecordError

POOL_FACTOR = 5
SKETCH_DIM = 256
NEAR_DUPLICATE_COSINE = 0.95
CHUNK = 64
UNCERTAINTY_WEIGHT = 1.0
DISAGREEMENT_WEIGHT = 1.0
CONTRADICTION_WEIGHT = 0.5
NEAR_LINE = 0.25  # a bot reply within this calibrated distance below the threshold is "near the line"
KMEANS_ITERATIONS = 10
UNKNOWN = "unknown"


@dataclass(frozen=True)
class PickSettings:
    """n: conversations to pick. seed: tie-breaks, clustering and the random share.
    random_share: part of n drawn uniformly from the whole archive (0 turns it off)."""

    n: int
    seed: int = 0
    random_share: float = 0.1

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if not 0 <= self.random_share <= 1:
            raise ValueError(f"random_share must be between 0 and 1, got {self.random_share}")


@dataclass
class Candidate:
    """A scored conversation kept in the pool: what review needs, and why it may be picked."""

    conversation: Conversation
    source: str
    prediction: Prediction
    second_score: float | None
    reasons: dict[str, Any]
    priority: float
    stratum: tuple[str, str]
    sketch: np.ndarray = field(repr=False)
    order: int = 0


@dataclass
class PickStats:
    """read = considered + invalid (duplicates included in invalid), as in ``score``."""

    read: int = 0
    considered: int = 0
    invalid: int = 0
    strata: Counter[tuple[str, str]] = field(default_factory=Counter)


def uncertainty(score: float, threshold: float) -> float:
    """1 at the threshold, falling linearly to 0 at the far end of [0, 1]."""
    span = max(threshold, 1.0 - threshold, 1e-9)
    return max(0.0, 1.0 - abs(score - threshold) / span)


def evidence_contradiction(conv: Conversation, prediction: Prediction) -> float:
    """1 when the turn scores contradict the flow's label (module docstring), else 0."""
    scores = prediction.turn_scores
    requests = [s for t, s in scores.items() if conv.turns[t].role == "user"]
    bot = [s for t, s in scores.items() if conv.turns[t].role == "assistant"]
    threshold = prediction.threshold
    if prediction.label == POSITIVE_LABEL:
        judged_by_bot = any(e.role == "assistant" for e in prediction.evidence)
        return float(judged_by_bot and bool(requests) and max(requests) < threshold / 2)
    near = bool(bot) and threshold - NEAR_LINE <= max(bot) < threshold
    return float(bool(requests) and max(requests) >= threshold and near)


def stratum(conv: Conversation) -> tuple[str, str]:
    """(language, channel) of a conversation; ``unknown`` where the record does not say."""
    lang = (conv.lang or UNKNOWN).split("-")[0].lower()
    channel = conv.meta.get("channel")
    return lang, str(channel) if isinstance(channel, str) and channel else UNKNOWN


def sketch(token_ids: Iterable[int], dim: int = SKETCH_DIM) -> np.ndarray:
    """A hashed bag of token ids, L2-normalised (float32[dim]); an empty input gives zeros."""
    ids = np.fromiter(token_ids, dtype=np.int64)
    vec = np.zeros(dim, dtype=np.float32)
    if ids.size:
        buckets = (ids * 2654435761) % dim
        signs = np.where(((ids * 40503) >> 3) % 2 == 0, 1.0, -1.0).astype(np.float32)
        np.add.at(vec, buckets, signs)
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            vec /= norm
    return vec


def kmeans(x: np.ndarray, k: int, seed: int, iterations: int = KMEANS_ITERATIONS) -> np.ndarray:
    """Cluster index of every row of ``x`` (k-means++ start, a few Lloyd steps); deterministic by seed."""
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    centres = [x[int(rng.integers(n))]]
    for _ in range(1, k):
        d = np.min(((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = float(d.sum())
        centres.append(x[int(rng.choice(n, p=d / total))] if total > 0 else x[int(rng.integers(n))])
    c = np.array(centres)
    assign = np.zeros(n, dtype=int)
    for _ in range(iterations):
        assign = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.mean(0)
    return assign


class _Pool:
    """The best ``size`` candidates of one stratum by priority (a min-heap: flat memory)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.heap: list[tuple[float, int, Candidate]] = []

    def offer(self, cand: Candidate) -> None:
        entry = (cand.priority, cand.order, cand)
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, entry)
        elif entry[:2] > self.heap[0][:2]:
            heapq.heapreplace(self.heap, entry)

    def best_first(self) -> list[Candidate]:
        return [c for _, _, c in sorted(self.heap, key=lambda e: (-e[0], e[1]))]


def _chunks(items: Iterator[Record | RecordError], size: int, stats: PickStats,
            on_invalid: Callable[[RecordError], None]) -> Iterator[list[Record]]:  # fmt: skip
    chunk: list[Record] = []
    for item in items:
        stats.read += 1
        if isinstance(item, RecordError):
            stats.invalid += 1
            on_invalid(item)
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def pick(
    items: Iterator[Record | RecordError],
    classifier: Classifier,
    settings: PickSettings,
    *,
    profile: BusinessProfile | None = None,
    second: Classifier | None = None,
    on_invalid: Callable[[RecordError], None] = lambda _: None,
    on_progress: Callable[[int], None] = lambda _: None,
) -> tuple[list[Candidate], PickStats]:
    """Choose ``settings.n`` conversations of ``items`` to review (module docstring); best first.

    ``items`` should already have duplicate ids turned into errors (``unique_ids``); every invalid item
    goes to ``on_invalid`` and is counted, so read = considered + invalid.
    """
    stats = PickStats()
    n_random = round(settings.n * settings.random_share) if settings.n > 1 else 0
    pool_size = POOL_FACTOR * settings.n
    pools: dict[tuple[str, str], _Pool] = {}
    reservoir: list[Candidate] = []
    rng = random.Random(settings.seed)
    order = 0
    for chunk in _chunks(items, CHUNK, stats, on_invalid):
        convs = [r.conversation for r in chunk]
        predictions = classifier.classify(convs, profile=profile)
        seconds = second.classify(convs, profile=profile) if second is not None else [None] * len(convs)
        windows = classifier.encoder.encode_many(convs)
        for record, pred, other, wins in zip(chunk, predictions, seconds, windows, strict=True):
            cand = _candidate(record, pred, other, [t for w in wins for t in w.input_ids], rng, order)
            order += 1
            stats.considered += 1
            stats.strata[cand.stratum] += 1
            pools.setdefault(cand.stratum, _Pool(pool_size)).offer(cand)
            if n_random:  # reservoir sample of the whole archive
                if len(reservoir) < n_random:
                    reservoir.append(cand)
                elif (j := rng.randrange(stats.considered)) < n_random:
                    reservoir[j] = cand
        on_progress(stats.considered)
    chosen = _choose(pools, stats, settings.n - len(reservoir), settings.seed, reservoir)
    for cand in reservoir:
        cand.reasons["random"] = True
    return _dedupe([*chosen, *reservoir], settings.n), stats


def _candidate(record: Record, pred: Prediction, other: Prediction | None, token_ids: Sequence[int],
               rng: random.Random, order: int) -> Candidate:  # fmt: skip
    u = uncertainty(pred.score, pred.threshold)
    disagreement = 0.0
    if other is not None:
        disagreement = 1.0 if other.label != pred.label else abs(other.score - pred.score)
    contradiction = evidence_contradiction(record.conversation, pred)
    priority = (
        UNCERTAINTY_WEIGHT * u
        + DISAGREEMENT_WEIGHT * disagreement
        + CONTRADICTION_WEIGHT * contradiction
        + 1e-6 * rng.random()
    )
    reasons: dict[str, Any] = {
        "uncertainty": round(u, 4),
        "evidence_contradiction": bool(contradiction),
        "priority": round(priority, 4),
    }
    if other is not None:
        reasons["second_opinion"] = {
            "model": other.model,
            "score": round(other.score, 4),
            "label": other.label,
            "disagreement": round(disagreement, 4),
        }
    return Candidate(
        conversation=record.conversation,
        source=record.location,
        prediction=pred,
        second_score=other.score if other is not None else None,
        reasons=reasons,
        priority=priority,
        stratum=stratum(record.conversation),
        sketch=sketch(token_ids),
        order=order,
    )


def _quotas(strata: Counter[tuple[str, str]], available: dict[tuple[str, str], int], n: int) -> dict:
    """Picks per stratum: proportional to the archive's strata (largest remainder), >= 1 where possible."""
    total = sum(strata.values()) or 1
    quota = {s: 0 for s in available}
    if n <= 0:
        return quota
    ordered = sorted(available, key=lambda s: (-strata[s], s))
    for s in ordered[:n]:
        quota[s] = min(1, available[s])
    left = n - sum(quota.values())
    exact = {s: strata[s] * left / total for s in ordered}
    for s in ordered:
        quota[s] = min(available[s], quota[s] + math.floor(exact[s]))
    while (left := n - sum(quota.values())) > 0:
        open_ = [s for s in ordered if quota[s] < available[s]]
        if not open_:
            break
        open_.sort(key=lambda s: (-(exact[s] - math.floor(exact[s])), -strata[s], s))
        for s in open_[:left]:
            quota[s] += 1
    return quota


def _choose(pools: dict[tuple[str, str], _Pool], stats: PickStats, n: int, seed: int,
            exclude: list[Candidate]) -> list[Candidate]:  # fmt: skip
    taken = {id(c) for c in exclude}
    ranked = {s: [c for c in p.best_first() if id(c) not in taken] for s, p in pools.items()}
    quota = _quotas(stats.strata, {s: len(c) for s, c in ranked.items()}, n)
    chosen: list[Candidate] = []
    for s in sorted(ranked, key=lambda s: (-quota[s], s)):
        cands = ranked[s]
        if not cands or quota[s] == 0:
            continue
        clusters = kmeans(np.stack([c.sketch for c in cands]), quota[s], seed)
        queues: dict[int, list[Candidate]] = {}
        for c, k in zip(cands, clusters, strict=True):
            c.reasons["cluster"] = f"{s[0]}/{s[1]}#{int(k)}"
            queues.setdefault(int(k), []).append(c)
        picked: list[Candidate] = []
        while len(picked) < quota[s] and any(queues.values()):
            for k in sorted(queues, key=lambda k: -queues[k][0].priority if queues[k] else 0.0):
                if queues[k] and len(picked) < quota[s]:
                    cand = queues[k].pop(0)
                    if not _near_duplicate(cand, [*chosen, *picked, *exclude]):
                        picked.append(cand)
        chosen.extend(picked)
    for c in chosen:
        c.reasons["stratum"] = f"{c.stratum[0]}/{c.stratum[1]}"
    return sorted(chosen, key=lambda c: -c.priority)


def _near_duplicate(cand: Candidate, chosen: Sequence[Candidate]) -> bool:
    return any(float(cand.sketch @ c.sketch) >= NEAR_DUPLICATE_COSINE for c in chosen)


def _dedupe(cands: list[Candidate], n: int) -> list[Candidate]:
    out: list[Candidate] = []
    for c in cands:
        if c.reasons.get("random") and _near_duplicate(c, out):
            continue
        out.append(c)
    return out[:n]


def conversation_digest(conv: Conversation) -> str:
    """sha256 of the conversation's turns (role and text): an exact-duplicate key for queues."""
    digest = hashlib.sha256()
    for turn in conv.turns:
        digest.update(f"{turn.role}\0{turn.text}\0".encode())
    return digest.hexdigest()
