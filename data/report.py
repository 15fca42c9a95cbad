"""Print the data set's numbers as Markdown (the tables in docs/DATA.md).

python -m data.report
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from classifier.schema import POSITIVE_LABEL
from training.datagen import checks
from training.datagen.config import SPLITS, load_config
from training.datagen.engine import SPLIT_FILE
from training.datagen.manifest import read_conversations


def table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.report", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    config = load_config(args.root / "data" / "generate.yaml")
    splits = {
        s: list(read_conversations(args.root / config.output_dir / SPLIT_FILE.format(split=s)))
        for s in SPLITS
    }
    everything = [c for v in splits.values() for c in v]
    langs = sorted({c.lang for c in everything})

    rows = []
    for split, convs in splits.items():
        for label in ("business_support", "general_assistance"):
            by_lang = Counter(c.lang for c in convs if c.label == label)
            rows.append([split, label, *(by_lang[lang] for lang in langs), sum(by_lang.values())])
    print("### Conversations per split, label and language\n")
    print(table(rows, ["split", "label", *langs, "total"]))

    print("\n### Flow types per split\n")
    flows = sorted({c.meta["flow"] for c in everything})
    print(
        table(
            [[s, *(Counter(c.meta["flow"] for c in v)[f] for f in flows)] for s, v in splits.items()],
            ["split", *flows],
        )
    )

    print("\n### Domains (conversations per split)\n")
    domains = sorted({c.meta["domain"] for c in everything})
    print(
        table(
            [[d, *(Counter(c.meta["domain"] for c in v)[d] for v in splits.values())] for d in domains],
            ["domain", *splits],
        )
    )

    print("\n### General categories (general flows and deflections, per split)\n")
    general_flows = ("deflection", "embedded", "general_chat", "lone_general")
    cats = sorted({c.meta["category"] for c in everything if c.meta["flow"] in general_flows})
    print(
        table(
            [
                [
                    k,
                    *(
                        Counter(c.meta["category"] for c in v if c.meta["flow"] in general_flows)[k]
                        for v in splits.values()
                    ),
                ]
                for k in cats
            ],
            ["category", *splits],
        )
    )

    s = checks.shares(everything)
    print("\n### Shares and checks\n")
    print(f"- total {s.total}; labels " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(s.labels.items())))
    print("- languages " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(s.langs.items())))
    print(f"- {s.domains} domains, {s.general_categories} general categories")
    print(
        f"- within business_support: deflection flows {s.deflection_in_business:.1%}, "
        f"small talk / service explanation flows {s.smalltalk_in_business:.1%}"
    )
    print(f"- within general_assistance: general task embedded in a support flow {s.embedded_in_general:.1%}")
    print(
        f"- turns {s.min_turns}-{s.max_turns}; "
        f"over {checks.LONG_TOKENS} tokens (estimate): {s.long_share:.1%}"
    )
    no_bot = [c for c in everything if not c.has_bot_reply]
    print(
        f"- without any bot reply: {len(no_bot)} ({sum(c.label == POSITIVE_LABEL for c in no_bot)} general)"
    )
    print(f"- most used family: {s.max_family_share[0]} in {s.max_family_share[1]:.2%} of conversations")
    print(f"- most used glue line: {s.max_glue_share[0]} in {s.max_glue_share[1]:.2%} of conversations")
    print(
        f"- cross-split exact duplicates: {len(checks.cross_split_exact_duplicates(splits))}, "
        f"near-duplicates (3-gram Jaccard >= 0.7): {len(checks.cross_split_near_duplicates(splits))}"
    )
    print("\n### Shape by label (train): what a structure-only model could use\n")
    profiles = {
        label: checks.label_profile([c for c in splits["train"] if c.label == label])
        for label in ("business_support", "general_assistance")
    }
    keys = list(profiles["business_support"])
    print(
        table(
            [[k, profiles["business_support"][k], profiles["general_assistance"][k]] for k in keys],
            ["feature", "business_support", "general_assistance"],
        )
    )
    print()
    div = checks.diversity(splits["train"])
    print("- train diversity: " + ", ".join(f"{k} {v:.3f}" for k, v in div.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
