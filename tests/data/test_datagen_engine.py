"""Generator engine: reproducible bytes, disjoint pools, symmetric realism, slots, the provenance gate."""

from __future__ import annotations

import gzip
import json
import random
import shutil

import pytest

from classifier.manifest import ManifestError, verified_data_files
from datagen.config import SPLITS, load_config
from datagen.engine import SPLIT_FILE, encode_jsonl_gz, generate, write_splits
from datagen.fragments import load_fragments_strict
from datagen.manifest import write_manifest
from datagen.pools import build_pools, partition
from datagen.slots import SlotFiller, format_amount


def test_gzip_bytes_do_not_depend_on_time(tmp_path):
    records = [{"id": "a", "turns": [{"role": "user", "text": "olá"}]}]
    assert encode_jsonl_gz(records) == encode_jsonl_gz(records)
    assert json.loads(gzip.decompress(encode_jsonl_gz(records)))["turns"][0]["text"] == "olá"


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


def test_slot_values_follow_the_language():
    rng = random.Random(1)
    assert all(SlotFiller(rng, "pt-BR", "Loja").fill("{amount}").startswith("R$") for _ in range(20))
    assert all(SlotFiller(rng, "de", "Laden").fill("{amount}").endswith(("€", "EUR")) for _ in range(20))
    assert all(format_amount(rng, "CH", 12.5, 0, True) == "CHF 12.50" for _ in range(3))
    filler = SlotFiller(rng, "de", "Funkwerk Mobil")
    text = filler.fill("Bestellung {order_id}, nochmal {order_id}, {business}, code {x}")
    first, second = text.split(", ")[0].split()[-1], text.split(", ")[1].split()[-1]
    assert first == second  # identity slots stay fixed within a conversation
    assert text.endswith("Funkwerk Mobil, code {x}")  # unknown braces stay literal


def test_generation_reproduces_committed_files_byte_for_byte(repo_root, tmp_path):
    config = load_config(repo_root / "data" / "generate.yaml")
    config = config.model_copy(
        update={"fragments_root": repo_root / config.fragments_root, "output_dir": tmp_path}
    )
    write_splits(generate(config), tmp_path)
    for split in SPLITS:
        name = SPLIT_FILE.format(split=split)
        committed = repo_root / load_config(repo_root / "data" / "generate.yaml").output_dir / name
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), (
            f"{name} differs: fragments or generator changed; run scopeguard data generate"
        )


def test_realism_does_not_depend_on_label(generated):
    """User-side transforms are per persona, never per label: their rates agree between labels."""
    from classifier.schema import POSITIVE_LABEL

    def rate(convs, predicate):
        users = [t.text for c in convs for t in c.turns if t.role == "user"]
        return sum(map(predicate, users)) / len(users)

    train = generated["train"]
    gen = [c for c in train if c.label == POSITIVE_LABEL]
    bus = [c for c in train if c.label != POSITIVE_LABEL]
    for predicate in (str.islower, lambda t: t.endswith("?"), lambda t: len(t) < 25):
        assert abs(rate(gen, predicate) - rate(bus, predicate)) < 0.12


def test_gate_rejects_a_changed_file(repo_root, tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(
        repo_root / "data", root / "data", ignore=shutil.ignore_patterns("fragments", "__pycache__")
    )
    write_manifest(root)
    assert len(verified_data_files(root, ("train", "validation"))) == 2
    path = root / "data" / "generated" / "validation.jsonl.gz"
    path.write_bytes(encode_jsonl_gz([{"id": "x", "turns": [{"role": "user", "text": "hi"}]}]))
    with pytest.raises(ManifestError, match=r"validation\.jsonl\.gz: sha256"):
        verified_data_files(root, ("validation",))
    assert len(verified_data_files(root, ("train",))) == 1
