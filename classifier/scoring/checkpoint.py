"""``OUT.progress.json``: how far a run got, written atomically after every chunk.

The checkpoint records a hash of everything that decides the output (input files with size and
modification time, reader options, model files, output and quarantine paths, --strict), the number of
input records consumed (scored + quarantined) and the byte offsets at which the output and quarantine
files end. It is written only after both files were fsync'd, so the files are never behind it; on resume
they are cut back to the recorded offsets (dropping rows of a chunk that was being written when the run
died) and that many input records are skipped. A finished run leaves ``complete: true``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CHECKPOINT_SUFFIX = ".progress.json"
CHECKPOINT_VERSION = 1


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + CHECKPOINT_SUFFIX)


def arguments_hash(settings: dict[str, Any]) -> str:
    """A stable hash of the settings that decide the output (JSON with sorted keys)."""
    text = json.dumps(settings, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    arguments_hash: str
    model_id: str
    records_done: int
    scored: int
    quarantined: int
    output_offset: int
    quarantine_offset: int
    complete: bool = False
    version: int = CHECKPOINT_VERSION

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, fsync'd, renamed over the old one, directory fsync'd."""
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            checkpoint = cls(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(
                f"cannot resume: {path} is not a scopeguard checkpoint ({exc}); delete it and run "
                "again without --resume"
            ) from None
        if checkpoint.version != CHECKPOINT_VERSION:
            raise ValueError(
                f"cannot resume: {path} has checkpoint version {checkpoint.version}, this scopeguard "
                f"writes {CHECKPOINT_VERSION}; run again without --resume"
            )
        return checkpoint


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms that cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
