"""The data set's numbers as Markdown (the tables in docs/DATA.md): ``scopeguard data report``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from classifier.manifest import read_conversations
from classifier.schema import POSITIVE_LABEL
from datagen import checks
from datagen.config import SPLITS, load_config
from datagen.engine import SPLIT_FILE


def table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def report(root: Path = Path(".")) -> str:
    """The Markdown of docs/DATA.md's "Numbers" section for the data set under root/data."""
    config = load_config(root / "data" / "generate.yaml")
    lines: list[str] = []
    out = lines.append
    splits = {
        s: list(read_conversations(root / config.output_dir / SPLIT_FILE.format(split=s))) for s in SPLITS
    }
    everything = [c for v in splits.values() for c in v]
    langs = sorted({c.lang for c in everything if c.lang is not None})

    rows = []
    for split, convs in splits.items():
        for label in ("business_support", "general_assistance"):
            by_lang = Counter(c.lang for c in convs if c.label == label)
            rows.append([split, label, *(by_lang[lang] for lang in langs), sum(by_lang.values())])
    out("### Conversations per split, label and language\n")
    out(table(rows, ["split", "label", *langs, "total"]))

    out("\n### Flow types per split\n")
    flows = sorted({c.meta["flow"] for c in everything})
    out(
        table(
            [[s, *(Counter(c.meta["flow"] for c in v)[f] for f in flows)] for s, v in splits.items()],
            ["split", *flows],
        )
    )

    out("\n### Domains (conversations per split)\n")
    domains = sorted({c.meta["domain"] for c in everything})
    out(
        table(
            [[d, *(Counter(c.meta["domain"] for c in v)[d] for v in splits.values())] for d in domains],
            ["domain", *splits],
        )
    )

    out("\n### General categories (general flows and deflections, per split)\n")
    general_flows = ("deflection", "embedded", "general_chat", "lone_general")
    cats = sorted({c.meta["category"] for c in everything if c.meta["flow"] in general_flows})
    out(
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
    out("\n### Shares and checks\n")
    out(f"- total {s.total}; labels " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(s.labels.items())))
    out("- languages " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(s.langs.items())))
    out(f"- {s.domains} domains, {s.general_categories} general categories")
    out(
        f"- within business_support: deflection flows {s.deflection_in_business:.1%}, "
        f"small talk / service explanation flows {s.smalltalk_in_business:.1%}"
    )
    out(f"- within general_assistance: general task embedded in a support flow {s.embedded_in_general:.1%}")
    out(
        f"- turns {s.min_turns}-{s.max_turns}; "
        f"over {checks.LONG_TOKENS} tokens (estimate): {s.long_share:.1%}"
    )
    no_bot = [c for c in everything if not c.has_bot_reply]
    out(f"- without any bot reply: {len(no_bot)} ({sum(c.label == POSITIVE_LABEL for c in no_bot)} general)")
    out(f"- most used family: {s.max_family_share[0]} in {s.max_family_share[1]:.2%} of conversations")
    out(f"- most used glue line: {s.max_glue_share[0]} in {s.max_glue_share[1]:.2%} of conversations")
    out(
        f"- cross-split exact duplicates: {len(checks.cross_split_exact_duplicates(splits))}, "
        f"near-duplicates (3-gram Jaccard >= 0.7): {len(checks.cross_split_near_duplicates(splits))}"
    )
    out("\n### Shape by label (train): what a structure-only model could use\n")
    profiles = {
        label: checks.label_profile([c for c in splits["train"] if c.label == label])
        for label in ("business_support", "general_assistance")
    }
    keys = list(profiles["business_support"])
    out(
        table(
            [[k, profiles["business_support"][k], profiles["general_assistance"][k]] for k in keys],
            ["feature", "business_support", "general_assistance"],
        )
    )
    out("")
    div = checks.diversity(splits["train"])
    out("- train diversity: " + ", ".join(f"{k} {v:.3f}" for k, v in div.items()))
    r = checks.reuse(splits["train"])
    out(
        f"- train reuse: {r.families} families used {r.mean_family_uses:.1f} times on average "
        f"(max {r.max_family_uses}; {r.families_over_4_uses:.1%} over 4 times); "
        f"{r.recurring_bot_turns:.1%} of bot turns over 20 characters recur word for word in 3+ "
        f"conversations; {r.with_profile:.1%} with a system turn (profile); {r.scope_pairs} scope pairs"
    )
    return "\n".join(lines) + "\n"
