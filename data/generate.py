"""Regenerate the data set's split files from the hand-written fragments (seeded, byte-reproducible).

Writing into data/generated also rewrites data/manifest.json.

python -m data.generate                       # uses data/generate.yaml
python -m data.generate --fragments-root data/fragments/_dev --languages en de --output-dir /tmp/gen
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.datagen.config import DEFAULT_CONFIG_PATH, load_config
from training.datagen.engine import generate, summary, write_splits
from training.datagen.fragments import FragmentError
from training.datagen.manifest import write_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    parser.add_argument("--fragments-root", type=Path, help="override the config's fragments_root")
    parser.add_argument("--output-dir", type=Path, help="override the config's output_dir")
    parser.add_argument("--languages", nargs="+", help="override the config's languages")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every split size (quick runs)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    updates: dict = {}
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
    if config.output_dir.resolve() == (Path("data") / "generated").resolve():
        print(f"wrote {write_manifest(Path('.'))}")
    else:
        print("output outside data/generated: data/manifest.json left unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
