"""Pools: families are partitioned into disjoint, stable per-split pools."""

from __future__ import annotations

from datagen.config import SPLITS, load_config
from datagen.fragments import load_fragments_strict
from datagen.pools import build_pools, partition


def test_partition_is_disjoint_and_complete():
    uids = [f"f{i}" for i in range(23)]
    parts = partition(uids, {"train": 0.7, "validation": 0.1, "test": 0.1, "heldout": 0.1}, seed=3)
    assert sum(len(p) for p in parts.values()) == len(uids)
    assert set().union(*parts.values()) == set(uids)
    assert all(len(p) >= 1 for p in parts.values())
    # stable: adding an item moves no existing one to another split
    more = partition([*uids, "f_new"], {"train": 0.7, "validation": 0.1, "test": 0.1, "heldout": 0.1}, seed=3)
    moved = [u for u in uids if not any(u in parts[s] and u in more[s] for s in parts)]
    assert len(moved) <= 2


def test_pools_share_no_family(repo_root):
    config = load_config(repo_root / "data" / "generate.yaml")
    config = config.model_copy(update={"fragments_root": repo_root / config.fragments_root})
    pools, _ = build_pools(load_fragments_strict(config.fragments_root, config.languages), config)
    seen: dict[str, str] = {}
    for split in SPLITS:
        for frag in pools[split].values():
            uids = [f.uid for d in frag.domains.values() for f in d.families]
            uids += [f.uid for c in frag.categories.values() for f in c.families]
            for uid in uids:
                assert seen.setdefault(uid, split) == split
            if split != "heldout":
                assert not set(frag.domains) & set(config.heldout_domains)
                assert not set(frag.categories) & set(config.heldout_categories)
