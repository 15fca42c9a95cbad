"""The committed data set is what the generator makes: byte for byte, with label-free realism."""

from __future__ import annotations

from datagen.config import SPLITS, load_config
from datagen.engine import SPLIT_FILE, generate, write_splits


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
