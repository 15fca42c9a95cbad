"""The provenance gate: training reads only data files the manifest vouches for.

A file is used only if ``data/manifest.json`` lists it with its sha256 (checked against the bytes on disk),
``exclusive_use: true`` (the company owns the transcripts and may train on them) and a ``split``. Anything
else is refused with a message saying what is wrong and what to do. Training, the data tools and the
baselines all pass through here; this module imports no torch.

The manifest is a JSON object whose ``files`` is a list of entries (or a mapping path -> entry)::

    {"files": [{"path": "data/generated/train.jsonl.gz", "sha256": "<64 hex>", "split": "train",
                "provenance": {"exclusive_use": true, ...}, ...}, ...]}

(``exclusive_use`` may also sit at the entry's top level; if both are given the top level wins.)

Entry paths are relative to the manifest's folder or to its parent (the repository root).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ProvenanceError(ValueError):
    """A data file may not be used for training (not in the manifest, changed, or not exclusively ours)."""


@dataclass(frozen=True)
class ManifestEntry:
    path: Path  # resolved location on disk
    listed_as: str  # the path as written in the manifest
    sha256: str
    split: str
    exclusive_use: bool
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve(manifest_path: Path, listed: str) -> Path:
    candidate = Path(listed)
    if candidate.is_absolute():
        return candidate.resolve()
    for base in (manifest_path.parent, manifest_path.parent.parent):
        if (base / candidate).exists():
            return (base / candidate).resolve()
    return (manifest_path.parent / candidate).resolve()


def _exclusive_use(raw: dict[str, Any]) -> bool:
    """``exclusive_use: true`` at the entry top level or in its ``provenance`` object; else False."""
    provenance = raw.get("provenance")
    nested = provenance.get("exclusive_use") if isinstance(provenance, dict) else None
    return raw.get("exclusive_use", nested) is True


def read_manifest(manifest_path: str | Path) -> list[ManifestEntry]:
    """Every entry of the manifest, structurally validated (hashes are checked by ``check_entry``)."""
    manifest_path = Path(manifest_path)
    if not manifest_path.is_file():
        raise ProvenanceError(
            f"data manifest {manifest_path} not found: training only uses files listed there with sha256, "
            "split and exclusive_use; generate the data (which writes the manifest) or fix data.manifest"
        )
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProvenanceError(f"{manifest_path} is not valid JSON: {exc}") from None
    files = data.get("files") if isinstance(data, dict) else None
    if isinstance(files, dict):
        files = [{"path": path, **entry} for path, entry in files.items() if isinstance(entry, dict)]
    if not isinstance(files, list) or not files:
        raise ProvenanceError(
            f"{manifest_path}: expected a non-empty 'files' list of entries, found {files!r}"
        )
    entries = []
    for n, raw in enumerate(files):
        where = f"{manifest_path} files[{n}]"
        if not isinstance(raw, dict):
            raise ProvenanceError(f"{where}: expected an object, found {raw!r}")
        listed = raw.get("path", raw.get("file"))
        if not isinstance(listed, str) or not listed:
            raise ProvenanceError(f"{where}: 'path' is missing")
        sha = raw.get("sha256")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise ProvenanceError(
                f"{where} ({listed}): 'sha256' must be 64 lowercase hex digits, found {sha!r}"
            )
        split = raw.get("split")
        if not isinstance(split, str) or not split:
            raise ProvenanceError(f"{where} ({listed}): 'split' is missing")
        extra = {
            k: v for k, v in raw.items() if k not in ("path", "file", "sha256", "split", "exclusive_use")
        }
        entries.append(
            ManifestEntry(
                path=_resolve(manifest_path, listed),
                listed_as=listed,
                sha256=sha,
                split=split,
                exclusive_use=_exclusive_use(raw),
                extra=extra,
            )
        )
    return entries


def check_entry(entry: ManifestEntry) -> ManifestEntry:
    """Refuse an entry that is not exclusively ours, missing on disk or whose bytes changed."""
    if not entry.exclusive_use:
        raise ProvenanceError(
            f"{entry.listed_as}: the manifest does not mark it exclusive_use: true; only transcripts the "
            "company owns and may train on can be used. Remove it from the splits or fix its provenance"
        )
    if not entry.path.is_file():
        raise ProvenanceError(f"{entry.listed_as}: listed in the manifest but not found at {entry.path}")
    actual = sha256_file(entry.path)
    if actual != entry.sha256:
        raise ProvenanceError(
            f"{entry.listed_as}: sha256 {actual} does not match the manifest ({entry.sha256}); the file "
            "changed after the manifest was written. Regenerate the data and manifest, or restore the file"
        )
    return entry


def gate_files(manifest_path: str | Path, paths: Iterable[str | Path]) -> list[ManifestEntry]:
    """The checked manifest entries of explicitly given files; a file not listed is refused."""
    entries = {e.path: e for e in read_manifest(manifest_path)}
    out = []
    for path in paths:
        resolved = Path(path).resolve()
        if resolved not in entries:
            raise ProvenanceError(
                f"{path} is not listed in the data manifest {manifest_path}; training uses only files "
                "with a recorded sha256, split and exclusive_use. Add it through the data pipeline"
            )
        out.append(check_entry(entries[resolved]))
    return out


def gate_splits(manifest_path: str | Path, splits: Sequence[str]) -> dict[str, list[ManifestEntry]]:
    """The checked entries of each requested split (every split must have at least one file)."""
    entries = read_manifest(manifest_path)
    known = sorted({e.split for e in entries})
    out: dict[str, list[ManifestEntry]] = {}
    for split in splits:
        chosen = [e for e in entries if e.split == split]
        if not chosen:
            raise ProvenanceError(
                f"{manifest_path} lists no file for split {split!r}; its splits are {known}"
            )
        out[split] = [check_entry(e) for e in chosen]
    return out


def manifest_digest(manifest_path: str | Path) -> str:
    return sha256_file(Path(manifest_path))
