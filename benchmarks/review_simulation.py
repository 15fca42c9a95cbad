"""Does picking pay? N conversations chosen by ``review pick`` against N random ones, as added training data.

Simulation (docs/REVIEW.md, "Does picking pay"), a few minutes on 2 CPUs:

* features: the frozen base encoder (multilingual-e5-small, trimmed as for training), mean-pooled over the
  rendered conversation (``training.zero_shot.ZeroShot.embed``); the model is a logistic-regression head
  on them, a stand-in for fine-tuning;
* seed data: ``--seed-size`` conversations of the generated training split (``data/generated``, read through
  the provenance gate);
* pool and evaluation set: ``../shared/realdev``, each file sampled and cut in two halves by conversation:
  one half is the pool to pick from, the other the evaluation set. realdev is used only here, for a
  throwaway head: never for the shipped model;
* for each N: the head refitted on seed + N pool conversations with their true labels, chosen by
  ``classifier.picking.pick`` with the shipped model (what ``review pick`` runs, with its default random
  share) or uniformly at random (``--random-repeats`` draws, mean and spread); macro-F1 at 0.5 and
  ROC-AUC on the evaluation half.

Writes ``benchmarks/results/review_simulation.{json,md}`` and ``docs/review-simulation.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.inference import Classifier, Prediction
from classifier.manifest import verified_data_files
from classifier.picking import PickSettings, pick
from classifier.readers import Record, read_conversations
from classifier.render import render_text
from classifier.schema import POSITIVE_LABEL, Conversation

RESULTS = Path("benchmarks/results")
PLOT = Path("docs/review-simulation.png")


def _load(path: Path) -> list[Conversation]:
    return [r.conversation for r in read_conversations([path], format="jsonl") if isinstance(r, Record)]


def realdev_halves(
    directory: Path, per_file: int, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """Per realdev file, ``per_file`` conversations for the pool and as many others for evaluation."""
    rng = random.Random(seed)
    pool, evaluation = [], []
    for path in sorted(directory.glob("*.jsonl")):
        convs = _load(path)
        rng.shuffle(convs)
        pool += convs[:per_file]
        evaluation += convs[per_file : 2 * per_file]
    return pool, evaluation


def seed_set(size: int, seed: int) -> list[Conversation]:
    (train,) = verified_data_files(Path("."), ["train"])
    convs = _load(train)
    return random.Random(seed).sample(convs, size)


def labels(convs: Sequence[Conversation]) -> np.ndarray:
    return np.array([int(c.label == POSITIVE_LABEL) for c in convs])


def fit_and_score(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    head = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    p = head.predict_proba(x_eval)[:, 1]
    return {
        "macro_f1": float(f1_score(y_eval, p >= 0.5, average="macro")),
        "roc_auc": float(roc_auc_score(y_eval, p)),
    }


def cached(clf: Classifier, pool: Sequence[Conversation]) -> Classifier:
    """``clf`` answering ``classify`` from one scoring of the pool (each N re-runs only the choosing)."""
    predictions = {p.id: p for p in clf.classify(list(pool))}

    def classify(convs: Sequence[Conversation], **_: Any) -> list[Prediction]:
        return [predictions[c.id] for c in convs]

    setattr(clf, "classify", classify)  # noqa: B010 - an instance override, not a method patch
    return clf


def main() -> None:
    parser = argparse.ArgumentParser(description="review pick against random picks (docs/REVIEW.md)")
    parser.add_argument("--model", type=Path, default=Path("models/default"), help="the model that picks")
    parser.add_argument("--realdev", type=Path, default=Path("../shared/realdev"))
    parser.add_argument("--per-file", type=int, default=120, help="realdev conversations per file and half")
    parser.add_argument(
        "--seed-size", type=int, default=300, help="generated conversations the head starts from"
    )
    parser.add_argument("--n", type=int, nargs="+", default=[20, 40, 80, 160])
    parser.add_argument("--random-repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()

    from training.base_models import e5_small_trimmed_dir
    from training.config import BaselineConfig
    from training.zero_shot import ZeroShot

    pool, evaluation = realdev_halves(args.realdev, args.per_file, args.seed)
    seed_convs = seed_set(args.seed_size, args.seed)
    encoder = ZeroShot(Path(e5_small_trimmed_dir()), BaselineConfig().prototypes, batch_size=16)
    x_seed, x_pool, x_eval = (
        encoder.embed([render_text(c) for c in cs]) for cs in (seed_convs, pool, evaluation)
    )
    y_seed, y_pool, y_eval = labels(seed_convs), labels(pool), labels(evaluation)
    t_features = time.perf_counter() - started
    clf = cached(Classifier.load(args.model, threads=args.threads), pool)
    index = {c.id: i for i, c in enumerate(pool)}
    rows: list[dict[str, Any]] = [
        {"n": 0, "strategy": "seed only", **fit_and_score(x_seed, y_seed, x_eval, y_eval)}
    ]
    for n in args.n:
        items = iter([Record(c, "pool", i + 1) for i, c in enumerate(pool)])
        chosen, _ = pick(items, clf, PickSettings(n=n, seed=args.seed))
        picked = [index[c.conversation.id] for c in chosen]
        scores = fit_and_score(np.vstack([x_seed, x_pool[picked]]), np.concatenate([y_seed, y_pool[picked]]),
                               x_eval, y_eval)  # fmt: skip
        rows.append(
            {"n": n, "strategy": "review pick", **scores, "general_share": float(y_pool[picked].mean())}
        )
        draws = []
        rng = np.random.default_rng(args.seed)
        for _ in range(args.random_repeats):
            idx = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
            x, y = np.vstack([x_seed, x_pool[idx]]), np.concatenate([y_seed, y_pool[idx]])
            draws.append(fit_and_score(x, y, x_eval, y_eval))
        rows.append({
            "n": n, "strategy": "random",
            **{k: float(np.mean([d[k] for d in draws])) for k in ("macro_f1", "roc_auc")},
            **{f"{k}_sd": float(np.std([d[k] for d in draws])) for k in ("macro_f1", "roc_auc")},
        })  # fmt: skip
    result = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "pool": len(pool),
        "evaluation": len(evaluation),
        "pool_general_share": float(y_pool.mean()),
        "model": clf.model_id,
        "seconds": {"features": round(t_features, 1), "total": round(time.perf_counter() - started, 1)},
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "review_simulation.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "review_simulation.md").write_text(markdown(result))
    plot(rows, PLOT)
    print(markdown(result))


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# review pick against random picks (benchmarks/review_simulation.py)",
        "",
        f"Pool {result['pool']} and evaluation {result['evaluation']} realdev conversations "
        "(disjoint halves; "
        f"{result['pool_general_share']:.0%} of the pool general); seed {result['settings']['seed_size']} "
        f"generated conversations; picking model {result['model']}; {result['seconds']['total']:.0f} s.",
        "",
        "| N added | strategy | macro-F1 | ROC-AUC | general share of the picks |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in result["rows"]:
        f1 = f"{r['macro_f1']:.3f}" + (f" ± {r['macro_f1_sd']:.3f}" if "macro_f1_sd" in r else "")
        auc = f"{r['roc_auc']:.3f}" + (f" ± {r['roc_auc_sd']:.3f}" if "roc_auc_sd" in r else "")
        share = f"{r['general_share']:.0%}" if "general_share" in r else ""
        lines.append(f"| {r['n']} | {r['strategy']} | {f1} | {auc} | {share} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=100)
    base = next(r for r in rows if r["n"] == 0)
    for strategy, style in (("review pick", "o-"), ("random", "s--")):
        rs = [base] + [r for r in rows if r["strategy"] == strategy]
        xs, ys = [r["n"] for r in rs], [r["macro_f1"] for r in rs]
        ax.errorbar(xs, ys, yerr=[r.get("macro_f1_sd", 0) for r in rs], fmt=style, label=strategy, capsize=3)
    ax.set_xlabel("realdev conversations added to the seed data")
    ax.set_ylabel("macro-F1 on the held-out half")
    ax.set_title("Linear head on frozen e5 features")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


if __name__ == "__main__":
    main()
