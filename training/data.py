"""Training data: the provenance gate, then conversations -> ``datasets`` of windows with turn targets.

Provenance gate: a file is used only if ``data/manifest.json`` lists it with its sha256 (checked against the
bytes on disk), ``exclusive_use: true`` (the company owns the transcripts and may train on them) and a
``split``. Anything else is refused with a message saying what is wrong and what to do.

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

import orjson

from classifier.readers import read_conversations
from classifier.render import ConversationEncoder
from classifier.schema import POSITIVE_LABEL, Conversation, RecordError
from training.model import CHANNEL_OF_ROLE
from training.targets import TARGETS_VERSION, TargetError, turn_targets

NO_TARGET = -1.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_LISTED_ERRORS = 10


class ProvenanceError(ValueError):
    """A data file may not be used for training (not in the manifest, changed, or not exclusively ours)."""


class DataError(ValueError):
    """Training data that cannot be used as it is (invalid records, duplicate ids, bad meta)."""


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


# -- conversations ---------------------------------------------------------------------------------


def load_conversations(paths: Sequence[Path], *, require_labels: bool = True) -> list[Conversation]:
    """All conversations of ``paths`` (schema v1 JSON Lines, .gz allowed). Any invalid record is an error."""
    convs: list[Conversation] = []
    errors: list[RecordError] = []
    for item in read_conversations(list(paths), format="jsonl"):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        conv = item.conversation
        if require_labels and conv.label is None:
            errors.append(RecordError(item.source, item.line, conv.id, "label is missing"))
            continue
        convs.append(conv)
    if errors:
        listed = "; ".join(e.describe() for e in errors[:MAX_LISTED_ERRORS])
        more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
        raise DataError(f"{len(errors)} unusable training records: {listed}{more}")
    seen: dict[str, int] = {}
    for conv in convs:
        seen[conv.id] = seen.get(conv.id, 0) + 1
    dupes = sorted(i for i, n in seen.items() if n > 1)
    if dupes:
        raise DataError(f"{len(dupes)} conversation ids occur more than once in {paths}: {dupes[:10]}")
    return convs


def check_disjoint(splits: dict[str, list[Conversation]]) -> None:
    """No conversation id may be in two splits (a leak would inflate every validation number)."""
    owner: dict[str, str] = {}
    for split, convs in splits.items():
        for conv in convs:
            if conv.id in owner and owner[conv.id] != split:
                raise DataError(f"id {conv.id} is in both split {owner[conv.id]!r} and {split!r}")
            owner[conv.id] = split


# -- windows with targets --------------------------------------------------------------------------


def encode_example(conv: Conversation, encoder: ConversationEncoder) -> dict[str, Any]:
    """One conversation as model input: its windows, every owned span with channel and target, MIL flag."""
    try:
        targets = turn_targets(conv)
    except TargetError as exc:
        raise DataError(str(exc)) from None
    windows = encoder.encode(conv)
    example: dict[str, Any] = {
        "id": conv.id,
        "label": int(conv.label == POSITIVE_LABEL),
        "mil": targets.mil,
        "input_ids": [list(w.input_ids) for w in windows],
        "span_window": [],
        "span_start": [],
        "span_end": [],
        "span_turn": [],
        "span_channel": [],
        "span_target": [],
    }
    for w, window in enumerate(windows):
        for span in window.spans:
            example["span_window"].append(w)
            example["span_start"].append(span.start)
            example["span_end"].append(span.end)
            example["span_turn"].append(span.turn)
            example["span_channel"].append(CHANNEL_OF_ROLE[span.role])
            example["span_target"].append(targets.targets.get(span.turn, NO_TARGET))
    example["n_windows"] = len(windows)
    example["n_tokens"] = sum(len(w) for w in windows)
    example["max_len"] = max(len(w) for w in windows)
    return example


def dataset_fingerprint(encoder: ConversationEncoder, sources: Sequence[str]) -> str:
    """Cache key of the encoded dataset: data file hashes, tokenizer, rendering and target rules."""
    digest = hashlib.sha256()
    for part in (
        *sorted(sources),
        encoder.tokenizer.to_str(),
        encoder.config.model_dump_json(),
        f"{encoder.cls_id},{encoder.sep_id}",
        TARGETS_VERSION,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def encode_dataset(
    convs: Sequence[Conversation],
    encoder: ConversationEncoder,
    *,
    cache_dir: Path | None,
    name: str,
    sources: Sequence[str] = (),
) -> Any:
    """A ``datasets.Dataset`` with one row per conversation (see ``encode_example``), cached on disk.

    ``sources`` (e.g. the sha256 of the data files) make the cache key; without them, or without a
    ``cache_dir``, the conversations' own JSON is hashed into the key instead.
    """
    from datasets import Dataset

    records = [orjson.dumps(c.to_record()).decode() for c in convs]
    key_sources = list(sources) or [hashlib.sha256("\n".join(records).encode()).hexdigest()]
    fingerprint = dataset_fingerprint(encoder, key_sources)
    base = Dataset.from_dict({"record": records})

    def encode_batch(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        rows = [
            encode_example(Conversation.model_validate(orjson.loads(r)), encoder) for r in batch["record"]
        ]
        return {key: [row[key] for row in rows] for key in rows[0]}

    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = str(cache_dir / f"{name}-{fingerprint}.arrow")
    return base.map(
        encode_batch,
        batched=True,
        batch_size=256,
        remove_columns=["record"],
        cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None,
        new_fingerprint=fingerprint,
        desc=f"encoding {name}",
    )
