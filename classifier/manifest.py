"""data/manifest.json: its schema, reading and writing it, file hashes, and the provenance gate.

The one place that knows the manifest. The data generator (``datagen.manifest``) builds a ``Manifest``
and writes it with ``write_manifest``; training reads data only through the gate (``gate_splits``,
``gate_files``, ``verified_data_files``); everything that hashes a file uses ``file_sha256``.

The gate accepts a file only if the manifest lists it with its sha256 (checked against the bytes on
disk), ``exclusive_use: true`` (the company owns the transcripts and may train on them) and a
``split``. Anything else is refused with a message saying what is wrong and what to do.

Two levels of strictness, on purpose:

* ``Manifest`` (pydantic) is the full schema of ``data/manifest.json`` as the generator writes it:
  every entry with its counts and provenance. ``load_manifest`` validates a file against it.
* The gate (``read_manifest``) needs only what it checks, so a company's own hand-made manifest for
  its own transcripts works too: ``files`` is a list of entries (or a mapping path -> entry), each
  with ``path``, ``sha256``, ``split`` and ``exclusive_use`` (in ``provenance`` or at the entry's top
  level; if both are given the top level wins). Entry paths are relative to the manifest's folder or
  to its parent (the repository root).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier import readers
from classifier.schema import Conversation, RecordError
from classifier.validation import validation_problems

MANIFEST_FILE = readers.DATA_MANIFEST_NAME  # "manifest.json": directory reads skip it
MANIFEST_VERSION = 1
DATA_DIR = Path("data")
CHALLENGE_SPLIT = "challenge"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks (the hash the manifest records)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(repo_root: Path = Path(".")) -> Path:
    return repo_root / DATA_DIR / MANIFEST_FILE


class ProvenanceError(ValueError):
    """A data file may not be used for training (not in the manifest, changed, or not exclusively ours)."""


class ManifestError(ProvenanceError):
    """The manifest is missing or malformed, or a data file does not match its entry."""


# --- the schema of data/manifest.json ------------------------------------------------------------


class Provenance(BaseModel):
    """Who owns a data file, where it came from, and whether we may train on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str
    origin: str
    licence: str
    exclusive_use: bool


class ManifestFile(BaseModel):
    """One data file: where it is, its split, hash, size, record counts and provenance.

    Field order is the order written to data/manifest.json (keep it: the file is compared byte for byte).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str  # relative to the repository root, POSIX separators
    split: str
    sha256: str = Field(pattern=SHA256_PATTERN)
    bytes: int = Field(ge=0)
    records: int = Field(ge=0)
    labels: dict[str, int]
    langs: dict[str, int]
    domains: dict[str, int]
    categories: dict[str, int]
    flows: dict[str, int]
    provenance: Provenance


COUNT_FIELDS: tuple[str, ...] = ("labels", "langs", "domains", "categories", "flows")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest_version: int = MANIFEST_VERSION
    files: list[ManifestFile]


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as written: JSON, one-space indent, UTF-8 (not ASCII-escaped), final newline."""
    return (json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def write_manifest(manifest: Manifest, path: Path) -> Path:
    path.write_bytes(manifest_bytes(manifest))
    return path


def load_manifest(path: Path) -> Manifest:
    """The manifest at `path`, validated against ``Manifest``; errors name the file and the key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing; run `scopeguard data manifest`") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"{path}: {validation_problems(exc)}") from None


def read_conversations(path: Path, source: str | None = None) -> Iterator[Conversation]:
    """Schema-v1 conversations of a .jsonl or .jsonl.gz data file; a bad record raises.

    Data files must be clean: unlike batch scoring, one unusable record stops the run, named by file,
    line and id (`source` replaces the path in messages).
    """
    for item in readers.read_conversations(path, format="jsonl"):
        if isinstance(item, RecordError):
            raise RecordError(source or item.source, item.line, item.record_id, item.problem)
        yield item.conversation


# --- the provenance gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """What the gate knows of one listed file."""

    path: Path  # resolved location on disk
    listed_as: str  # the path as written in the manifest
    sha256: str
    split: str
    exclusive_use: bool
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


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
            "split and exclusive_use; generate the data (which writes the manifest) or fix data/manifest.json"
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
    actual = file_sha256(entry.path)
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


def verified_data_files(repo_root: Path = Path("."), splits: Sequence[str] | None = None) -> list[Path]:
    """The gate applied to the files of ``splits`` of repo_root/data/manifest.json (None: every split).

    Raises ManifestError when a file of those splits is missing, changed since the manifest was written,
    or not marked exclusive_use, so no tool reads data whose provenance is not recorded.
    """
    path = manifest_path(repo_root)
    wanted = list(splits) if splits is not None else sorted({e.split for e in read_manifest(path)})
    try:
        gated = gate_splits(path, wanted)
    except ProvenanceError as exc:
        raise ManifestError(str(exc)) from None
    return [entry.path for split in wanted for entry in gated[split]]


def manifest_digest(manifest_path: str | Path) -> str:
    return file_sha256(Path(manifest_path))
