"""Rewrite data/manifest.json (sha256, counts, provenance of every data file), or check it.

    python -m data.manifest            # rewrite
    python -m data.manifest --check    # exit 1 when a file differs from its entry

Training imports the gate: ``training.datagen.manifest.verified_data_files``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from classifier.schema import RecordError
from training.datagen.manifest import ManifestError, build_manifest, check_manifest, write_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.manifest", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--check", action="store_true", help="check instead of rewriting")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check_manifest(args.root)
            for problem in problems:
                print(problem)
            print("manifest matches the data files" if not problems else f"{len(problems)} problem(s)")
            return 1 if problems else 0
        path = write_manifest(args.root)
    except (ManifestError, RecordError) as exc:
        print(exc, file=sys.stderr)
        return 1
    manifest = build_manifest(args.root)
    for entry in manifest["files"]:
        print(f"{entry['path']}: {entry['records']} records {entry['labels']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
