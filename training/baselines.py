"""TF-IDF + logistic regression baseline: a floor for the model and a detector of generator artefacts.

Trained on the train split (read through the manifest's provenance gate), scored on validation,
heldout, the hand-written challenge set and the real conversations in ../shared/realdev (evaluation
only). If it scores near 1.0 on heldout, the generator leaks a cue; see docs/DATA.md.

    python -m training.baselines                     # prints the table
    python -m training.baselines --realdev DIR       # another realdev directory
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifier.manifest import CHALLENGE_SPLIT, read_conversations, verified_data_files
from classifier.render import render_text
from classifier.schema import POSITIVE_LABEL, Conversation

DEFAULT_REALDEV = Path("../shared/realdev")


@dataclass(frozen=True)
class BaselineConfig:
    """ngram_range/min_df/sublinear_tf/max_features: TfidfVectorizer's; C: inverse regularisation; seed."""

    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 2
    sublinear_tf: bool = True
    max_features: int | None = 200_000
    C: float = 4.0
    seed: int = 0


@dataclass(frozen=True)
class Score:
    name: str
    n: int
    accuracy: float
    auc: float | None
    general_share: float


def fit_tfidf_baseline(convs: Sequence[Conversation], config: BaselineConfig = BaselineConfig()):
    """A fitted sklearn Pipeline (TfidfVectorizer -> LogisticRegression) over each render_text."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    labelled = [c for c in convs if c.label is not None]
    if len({c.label for c in labelled}) < 2:
        raise ValueError(
            f"the baseline needs both labels in its training data, "
            f"found {sorted({str(c.label) for c in labelled})}; "
            "pass labelled conversations of both classes"
        )
    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    ngram_range=config.ngram_range,
                    min_df=config.min_df,
                    sublinear_tf=config.sublinear_tf,
                    max_features=config.max_features,
                ),
            ),
            ("lr", LogisticRegression(C=config.C, max_iter=3000, random_state=config.seed)),
        ]
    )
    pipeline.fit([render_text(c) for c in labelled], [c.label == POSITIVE_LABEL for c in labelled])
    return pipeline


def score_baseline(pipeline, convs: Sequence[Conversation], name: str) -> Score:
    from sklearn.metrics import accuracy_score, roc_auc_score

    labelled = [c for c in convs if c.label is not None]
    y = [c.label == POSITIVE_LABEL for c in labelled]
    proba = pipeline.predict_proba([render_text(c) for c in labelled])[:, 1]
    auc = roc_auc_score(y, proba) if len(set(y)) == 2 else None
    return Score(name, len(labelled), float(accuracy_score(y, proba > 0.5)), auc, sum(y) / max(len(y), 1))


def evaluation_sets(repo_root: Path, realdev: Path | None) -> dict[str, list[Conversation]]:
    """validation, heldout, test, challenge (if present) and every realdev file (if present)."""
    sets: dict[str, list[Conversation]] = {}
    for split in ("validation", "test", "heldout", CHALLENGE_SPLIT):
        convs = [c for p in verified_data_files(repo_root, (split,)) for c in read_conversations(p)]
        if convs:
            sets[split] = convs
    if realdev is not None and realdev.is_dir():
        everything = []
        for path in sorted(realdev.glob("*.jsonl")):
            convs = list(read_conversations(path))
            sets[f"realdev/{path.stem}"] = convs
            everything += convs
        if everything:
            sets["realdev (all)"] = everything
    return sets


def run_baseline(
    repo_root: Path = Path("."),
    realdev: Path | None = DEFAULT_REALDEV,
    config: BaselineConfig = BaselineConfig(),
) -> list[Score]:
    train = [c for p in verified_data_files(repo_root, ("train",)) for c in read_conversations(p)]
    pipeline = fit_tfidf_baseline(train, config)
    return [
        score_baseline(pipeline, convs, name) for name, convs in evaluation_sets(repo_root, realdev).items()
    ]


def format_scores(scores: Sequence[Score]) -> str:
    lines = ["| set | n | general share | accuracy | AUC |", "|---|---:|---:|---:|---:|"]
    for s in scores:
        auc = f"{s.auc:.3f}" if s.auc is not None else "n/a (one label)"
        lines.append(f"| {s.name} | {s.n} | {s.general_share:.0%} | {s.accuracy:.3f} | {auc} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.baselines", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument(
        "--realdev", type=Path, default=DEFAULT_REALDEV, help="realdev directory (evaluation only)"
    )
    args = parser.parse_args(argv)
    print(format_scores(run_baseline(args.root, args.realdev)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
