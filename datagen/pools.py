"""Partition fragment families and glue lines into disjoint per-split pools.

Each split composes its conversations only from its own pool, so no fragment family (and no glue
line, where the list is long enough) is seen by two splits. The heldout pool also owns whole domains
and general categories.

Families are not spread thinly (one per domain per split would make every long validation
conversation repeat its one family); instead, per language, every domain and category is paired
with one non-train split in turn (validation, test, heldout, validation, ...), which gets the
non-train share of its families (30% by default: 3 of 10) while train keeps the rest. Every
non-train split so gets about its share of all families, in a third of the domains per language
(shifted by one split per language, so every domain and category reaches every split). Order is by
a stable hash of the ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TypeVar

from datagen.config import SPLITS, GenerateConfig
from datagen.fragments import Category, Domain, Glue, LanguageFragments, OfferDomain

MIN_ITEMS_TO_PARTITION = 4  # per split; shorter glue lists are shared by all splits (reported)


def _order_key(seed: int, uid: str) -> str:
    return hashlib.sha256(f"{seed}:{uid}".encode()).hexdigest()


def partition(
    uids: list[str], shares: dict[str, float], seed: int, splits: tuple[str, ...] = SPLITS
) -> dict[str, set[str]]:
    """Split ids into disjoint sets: every split in `splits` but the first gets >= 1, the first the rest."""
    ordered = sorted(uids, key=lambda u: _order_key(seed, u))
    total = sum(shares[s] for s in splits)
    out: dict[str, set[str]] = {s: set() for s in splits}
    pos = 0
    for split in splits[1:]:
        count = max(1, round(len(ordered) * shares[split] / total))
        out[split] = set(ordered[pos : pos + count])
        pos += count
    out[splits[0]] = set(ordered[pos:])
    return out


def _assign(
    uids: list[str], shares: dict[str, float], seed: int, splits: tuple[str, ...], *, shared_if_short: bool
) -> dict[str, set[str]]:
    """Partition; a list too short to give every split its own items is shared (glue) or train-only."""
    if len(splits) == 1:
        return {splits[0]: set(uids)}
    if len(uids) < MIN_ITEMS_TO_PARTITION * len(splits) // 2:
        return {s: set(uids) if shared_if_short or s == splits[0] else set() for s in splits}
    return partition(uids, shares, seed, splits)


def paired_splits(keys: list[str], lang_index: int, seed: int, others: tuple[str, ...]) -> dict[str, str]:
    """Each key (domain or category) -> the non-train split that gets a share of its families.

    Keys are ordered by a stable hash and dealt to the splits in turn, shifted by one per language, so
    over three languages every domain and category reaches every non-train split."""
    ordered = sorted(keys, key=lambda k: _order_key(seed, k))
    return {key: others[(i + lang_index) % len(others)] for i, key in enumerate(ordered)}


def _pair_shares(shares: dict[str, float], paired: str) -> dict[str, float]:
    """train keeps its share; the paired split gets all non-train shares (so splits balance overall)."""
    return {"train": shares["train"], paired: 1 - shares["train"]}


@dataclass(frozen=True)
class PoolReport:
    shared_lists: tuple[str, ...]  # glue lists too short to partition (shared by all splits)


def build_pools(
    fragments: dict[str, LanguageFragments], config: GenerateConfig
) -> tuple[dict[str, dict[str, LanguageFragments]], PoolReport]:
    """split -> lang -> the fragments that split may use."""
    pools: dict[str, dict[str, LanguageFragments]] = {s: {} for s in SPLITS}
    shared: list[str] = []
    seed, shares = config.seed, config.family_shares
    for lang_index, (lang, frag) in enumerate(fragments.items()):
        others = SPLITS[1:]
        open_domains = [k for k in sorted(frag.domains) if k not in config.heldout_domains]
        domain_pair = paired_splits(open_domains, lang_index, seed, others)
        domains = _family_pools(frag.domains, domain_pair, config.heldout_domains, config)
        used = {k: c for k, c in frag.categories.items() if k in config.categories}
        open_categories = [k for k in sorted(used) if k not in config.heldout_categories]
        category_pair = paired_splits(open_categories, lang_index, seed, others)
        categories = _family_pools(used, category_pair, config.heldout_categories, config)
        offers = _offer_pools(frag, config, lang_index, domain_pair)
        glue_lists: dict[str, dict[str, tuple]] = {s: {} for s in SPLITS}
        for name, lines in frag.glue.lists.items():
            owner = _assign([g.uid for g in lines], shares, seed, SPLITS, shared_if_short=True)
            if len({frozenset(v) for v in owner.values()}) == 1 and len(lines) > 0:
                shared.append(f"{lang}/common/{name}")
            for split, uids in owner.items():
                glue_lists[split][name] = tuple(g for g in lines if g.uid in uids)
        smalltalk_owner = _assign(
            [p.uid for p in frag.glue.smalltalk], shares, seed, SPLITS, shared_if_short=True
        )
        if len({frozenset(v) for v in smalltalk_owner.values()}) == 1:
            shared.append(f"{lang}/common/smalltalk")
        for split in SPLITS:
            if not domains[split] or not categories[split]:
                continue
            glue = Glue(
                lang,
                glue_lists[split],
                tuple(p for p in frag.glue.smalltalk if p.uid in smalltalk_owner[split]),
            )
            pools[split][lang] = LanguageFragments(
                lang, domains[split], categories[split], glue, offers[split]
            )
    return pools, PoolReport(tuple(shared))


def _offer_pools(
    frag: LanguageFragments, config: GenerateConfig, lang_index: int, domain_pair: dict[str, str]
) -> dict[str, dict[str, OfferDomain]]:
    """split -> offer domain -> its families in that split: an offer of a business domain goes where the
    domain's families go (so its businesses find their own offer), the others are paired alike (heldout
    domains are heldout's alone); businesses and profiles are shared, like the domains' system prompts."""
    open_offers = [k for k in sorted(frag.offers) if k not in config.heldout_domains and k not in domain_pair]
    pair = {**paired_splits(open_offers, lang_index, config.seed, SPLITS[1:]), **domain_pair}
    return _family_pools(frag.offers, pair, config.heldout_domains, config)


_Owner = TypeVar("_Owner", Domain, Category, OfferDomain)


def _family_pools(
    owners: dict[str, _Owner], pair: dict[str, str], heldout: tuple[str, ...], config: GenerateConfig
) -> dict[str, dict[str, _Owner]]:
    """split -> key -> the owner (domain, category, offer) with its families of that split: a heldout
    key's all go to heldout; the others' are shared by train and their paired split."""
    out: dict[str, dict[str, _Owner]] = {s: {} for s in SPLITS}
    for key, owner in owners.items():
        splits = ("heldout",) if key in heldout else ("train", pair[key])
        assigned = _assign(
            [f.uid for f in owner.families],
            _pair_shares(config.family_shares, splits[-1]),
            config.seed,
            splits,
            shared_if_short=False,
        )
        for split, uids in assigned.items():
            families = tuple(f for f in owner.families if f.uid in uids)
            if families:
                out[split][key] = replace(owner, families=families)
    return out
