"""``scopeguard data generate|check|manifest|report``: make and check the data set in data/.

``generate`` composes the hand-written fragments (data/fragments/) into the split files
data/generated/*.jsonl.gz (seeded, byte for byte reproducible) and rewrites data/manifest.json.
``check`` validates the fragment files for content writers (format and coherence rules; each problem
names its file and family). ``manifest`` rewrites data/manifest.json (hashes, counts, provenance of
every data file) or, with ``--check``, compares it with the files. ``report`` prints the data set's
numbers as Markdown (the tables in docs/DATA.md). See docs/DATA.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datagen.coherence import Finding

DEFAULT_CONFIG = Path("data/generate.yaml")
DEFAULT_FRAGMENTS = Path("data/fragments")
GENERATED_DIR = Path("data/generated")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help="generate, check and describe the data set in data/",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)

    generate = actions.add_parser(
        "generate",
        help="regenerate data/generated/*.jsonl.gz from the fragments (and data/manifest.json)",
        description="Regenerate the data set's split files from the hand-written fragments (seeded, "
        "byte-reproducible). Writing into data/generated also rewrites data/manifest.json. Example: "
        "scopeguard data generate --fragments-root data/fragments/_dev --languages en de "
        "--output-dir /tmp/gen",
    )
    generate.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="YAML",
                          help=f"generator config (default: {DEFAULT_CONFIG})")  # fmt: skip
    generate.add_argument("--fragments-root", type=Path, help="override the config's fragments_root")
    generate.add_argument("--output-dir", type=Path, help="override the config's output_dir")
    generate.add_argument("--languages", nargs="+", help="override the config's languages")
    generate.add_argument("--scale", type=float, default=1.0, help="multiply every split size (quick runs)")

    check = actions.add_parser(
        "check",
        help="validate the fragment files (errors must be fixed, warnings are quotas)",
        description="Validate the fragment files: format, slots, ids, and the coherence rules of "
        "datagen/coherence.py (the generator pairs every user variant with a bot variant that answers it; "
        "a user variant that no bot variant answers with the same date or relative, or that a bot would "
        "confirm as another {date}/{time}/{amount}, a bot filling {product}/{plan} for what the user named "
        "in words, and business-specific general requests are errors; user variants left unanswered for "
        "other reasons, bot variants that share no word with a user variant, bot lines that need a name "
        "nobody gave and small talk that reacts to nothing are warnings, counted per rule unless "
        "--coherence lists them). Exit code 1 when any file has an error; each line names the file and "
        "the family.",
    )
    check.add_argument("--root", type=Path, default=DEFAULT_FRAGMENTS, help="fragments folder")
    check.add_argument("--lang", nargs="+", help="languages to check (default: every language folder)")
    check.add_argument("--quiet", action="store_true", help="print errors only")
    check.add_argument(
        "--coherence", action="store_true", help="list every coherence warning, not only the count per rule"
    )

    manifest = actions.add_parser(
        "manifest",
        help="rewrite data/manifest.json (sha256, counts, provenance of every data file), or --check it",
    )
    manifest.add_argument("--root", type=Path, default=Path("."), help="repository root")
    manifest.add_argument(
        "--check", action="store_true", help="check instead of rewriting (exit 1 on a difference)"
    )

    report = actions.add_parser("report", help="print the data set's numbers as Markdown (docs/DATA.md)")
    report.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    action = {"generate": _generate, "check": _check, "manifest": _manifest, "report": _report}
    return action[args.data_action](args)


def _generate(args: argparse.Namespace) -> int:
    from datagen.config import load_config
    from datagen.engine import generate, summary, write_splits
    from datagen.fragments import FragmentError
    from datagen.manifest import write_manifest

    config = load_config(args.config)
    updates: dict[str, Any] = {}
    if args.fragments_root:
        updates["fragments_root"] = args.fragments_root
    if args.output_dir:
        updates["output_dir"] = args.output_dir
    if args.languages:
        updates["languages"] = tuple(args.languages)
    if args.scale != 1.0:
        updates["split_sizes"] = {k: max(1, round(v * args.scale)) for k, v in config.split_sizes.items()}
    config = config.model_validate({**config.model_dump(), **updates})
    try:
        result = generate(config)
    except FragmentError as exc:
        print(exc, file=sys.stderr)
        return 1
    paths = write_splits(result, config.output_dir)
    print(summary(result))
    for path in paths.values():
        print(f"wrote {path}")
    if config.output_dir.resolve() == GENERATED_DIR.resolve():
        print(f"wrote {write_manifest(Path('.'))}")
    else:
        print(f"output outside {GENERATED_DIR}: data/manifest.json left unchanged")
    return 0


def _check(args: argparse.Namespace) -> int:
    from collections import Counter

    from datagen.coherence import coherence_findings
    from datagen.fragments import load_fragments
    from datagen.tables import language_folders

    known = language_folders()  # the languages with tables (data/fragments/<lang>/tables.yaml)
    langs = tuple(args.lang or known)
    unknown = [lang for lang in langs if lang not in known]
    if unknown:
        raise ValueError(f"--lang {' '.join(unknown)}: no language folder with tables ({', '.join(known)})")
    fragments, report = load_fragments(args.root, langs)
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
            f"{len(frag.glue.smalltalk)} small-talk pairs, {len(frag.offers)} offer files "
            f"({sum(len(o.families) for o in frag.offers.values())} families)"
        )
    print(f"{len(report.files)} files checked: {len(report.errors)} errors, {len(report.warnings)} warnings")
    return 1 if report.errors else 0


def _print_coherence_warnings(warnings: list[Finding], *, listed: bool) -> None:
    """Coherence warnings are heuristic: list them on request, otherwise count them per rule."""
    from collections import Counter

    if listed:
        for finding in warnings:
            print(f"check   {finding}")
    counts = Counter(f.rule for f in warnings)
    if counts:
        summary = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))
        print(f"coherence warnings (review, --coherence lists them): {summary}")


def _manifest(args: argparse.Namespace) -> int:
    from classifier.manifest import ManifestError, manifest_path, write_manifest
    from classifier.schema import RecordError
    from datagen.manifest import build_manifest, check_manifest

    try:
        if args.check:
            problems = check_manifest(args.root)
            for problem in problems:
                print(problem)
            print("manifest matches the data files" if not problems else f"{len(problems)} problem(s)")
            return 1 if problems else 0
        manifest = build_manifest(args.root)
    except (ManifestError, RecordError) as exc:
        print(exc, file=sys.stderr)
        return 1
    path = write_manifest(manifest, manifest_path(args.root))
    for entry in manifest.files:
        print(f"{entry.path}: {entry.records} records {entry.labels}")
    print(f"wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from datagen.report import report

    print(report(args.root), end="")
    return 0
