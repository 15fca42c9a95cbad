"""Validate the fragment files (for content writers): errors must be fixed, warnings are quotas.

    python -m data.fragments_check                 # all languages under data/fragments
    python -m data.fragments_check --lang pt-BR    # one language
    python -m data.fragments_check --quiet         # errors only
    python -m data.fragments_check --coherence     # also list every coherence warning (review by hand)

Besides the format, the coherence rules of training/datagen/coherence.py run on every family (review
P1-6 and P1-9): contradicting dates/relatives and business-specific general hooks are errors; bot
variants that share no word with a user variant, differing clock times and small talk that reacts to
nothing are warnings, counted per rule unless --coherence lists them.

Exit code 1 when any file has an error. Each line names the file and the family.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from training.datagen.coherence import Finding, coherence_findings
from training.datagen.fragments import LANGUAGES, load_fragments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.fragments_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--root", type=Path, default=Path("data/fragments"))
    parser.add_argument("--lang", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
    parser.add_argument("--quiet", action="store_true", help="print errors only")
    parser.add_argument(
        "--coherence", action="store_true", help="list every coherence warning, not only the count per rule"
    )
    args = parser.parse_args(argv)
    fragments, report = load_fragments(args.root, tuple(args.lang))
    findings = [f for frag in fragments.values() for f in coherence_findings(frag)]
    report.errors.extend(str(f) for f in findings if f.severity == "error")
    for problem in report.errors:
        print(f"ERROR   {problem}")
    if not args.quiet:
        for problem in report.warnings:
            print(f"warning {problem}")
        _print_coherence_warnings([f for f in findings if f.severity == "warning"], listed=args.coherence)
    for lang, frag in fragments.items():
        fams = sum(len(d.families) for d in frag.domains.values())
        gen = sum(len(c.families) for c in frag.categories.values())
        kinds = Counter(f.kind for d in frag.domains.values() for f in d.families)
        print(
            f"{lang}: {len(frag.domains)} domains ({fams} families, {kinds['explanation']} explanations), "
            f"{len(frag.categories)} categories ({gen} families), "
            f"{sum(len(v) for v in frag.glue.lists.values())} glue lines, "
            f"{len(frag.glue.smalltalk)} small-talk pairs"
        )
    print(f"{len(report.files)} files checked: {len(report.errors)} errors, {len(report.warnings)} warnings")
    return 1 if report.errors else 0


def _print_coherence_warnings(warnings: list[Finding], *, listed: bool) -> None:
    """Coherence warnings are heuristic: list them on request, otherwise count them per rule."""
    if listed:
        for finding in warnings:
            print(f"check   {finding}")
    counts = Counter(f.rule for f in warnings)
    if counts:
        summary = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
        print(f"coherence warnings (review, --coherence lists them): {summary}")


if __name__ == "__main__":
    sys.exit(main())
