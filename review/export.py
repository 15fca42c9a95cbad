"""``review export``: the labelled conversations of a queue as schema-v1 JSONL, recorded in a manifest.

Exported: every item whose reviewers' definite labels (``business_support`` / ``general_assistance``)
agree. Left out, and counted: items with no definite label (pending, skipped, only ``unsure``) and
items whose reviewers disagree (listed by ``review status``; settle them, then export again).

Each record carries ``meta.general_turns`` (the bot turns marked general; ``[]`` for business support),
``meta.review`` (reviewers, time of the latest answer, notes, the queue and the model's pre-label), its
``channel`` and, when the decision was made under a ``--business`` profile or the record's own
``meta.business``, that profile as ``meta.business``, so training reads the conversation under the same
profile the reviewer saw.

The file is ``<DIR>/<queue stem>.jsonl`` (rewritten by each export of that queue), and
``<DIR>/manifest.json`` lists it as the company's own data: split ``own``, sha256, bytes, counts, and
provenance ``exclusive_use: true``, so the provenance gate (``classifier.manifest.gate_splits``) accepts
it. Other entries of that manifest are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from classifier.manifest import (
    MANIFEST_FILE,
    Manifest,
    ManifestFile,
    Provenance,
    file_sha256,
    load_manifest,
    write_manifest,
)
from classifier.schema import Conversation
from review.queue import ReviewQueue
from review.status import ItemState, item_states

OWN_SPLIT = "own"
OWNER = "the company (its own reviewed transcripts)"
LICENCE = "proprietary: the company's own data, for its exclusive use"


@dataclass(frozen=True)
class ExportReport:
    out: Path
    manifest: Path
    exported: int
    unlabelled: int
    disagreements: int
    labels: dict[str, int]


def export_record(state: ItemState, queue_name: str) -> dict[str, Any]:
    item, label = state.item, state.agreed_label
    definite = {r: a for r, a in state.answers.items() if a.label == label}
    general_turns = sorted({t for a in definite.values() for t in a.general_turns})
    meta: dict[str, Any] = {"general_turns": general_turns if label == "general_assistance" else []}
    if item.channel:
        meta["channel"] = item.channel
    if item.profile and item.profile.get("source") in ("default", "record"):
        meta["business"] = {"name": item.profile["name"], "description": item.profile["text"]} \
            if item.profile.get("name") else item.profile["text"]  # fmt: skip
    meta["review"] = {
        "reviewers": sorted(definite),
        "at": max(a.at for a in definite.values()),
        "notes": {r: a.note for r, a in sorted(definite.items()) if a.note},
        "queue": queue_name,
        "source": item.source,
        "pre_label": item.pre_label,
        "model": item.model,
    }
    record = {"id": item.conv_id, "turns": item.turns, "label": label, "lang": item.lang, "meta": meta}
    Conversation.model_validate(record)  # the export is schema v1 by construction; prove it
    return {k: v for k, v in record.items() if v is not None}


def export_queue(queue_path: Path, out_dir: Path) -> ExportReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    with ReviewQueue.open(queue_path) as queue:
        states = item_states(queue)
    ready = [s for s in states if s.agreed_label is not None]
    disagreements = sum(len(set(s.definite.values())) > 1 for s in states)
    out = out_dir / f"{queue_path.stem}.jsonl"
    records = [export_record(s, queue_path.name) for s in ready]
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    tmp.replace(out)
    origin = f"reviewed in {queue_path.name} with scopeguard review"
    manifest = record_in_manifest(out, out_dir / MANIFEST_FILE, records, origin=origin)
    return ExportReport(
        out=out,
        manifest=manifest,
        exported=len(records),
        unlabelled=len(states) - len(ready) - disagreements,
        disagreements=disagreements,
        labels=dict(Counter(r["label"] for r in records)),
    )


def record_in_manifest(
    path: Path, manifest_path: Path, records: list[dict[str, Any]], *, origin: str
) -> Path:
    """Add or replace ``path``'s entry in the manifest (the full ``classifier.manifest.Manifest`` schema)."""
    files: list[ManifestFile] = []
    if manifest_path.exists():
        files = list(load_manifest(manifest_path).files)
    listed = path.relative_to(manifest_path.parent).as_posix()
    entry = ManifestFile(
        path=listed,
        split=OWN_SPLIT,
        sha256=file_sha256(path),
        bytes=path.stat().st_size,
        records=len(records),
        labels=dict(sorted(Counter(r["label"] for r in records).items())),
        langs=dict(sorted(Counter(r.get("lang") or "unknown" for r in records).items())),
        domains={},
        categories={},
        flows={},
        provenance=Provenance(owner=OWNER, origin=origin, licence=LICENCE, exclusive_use=True),
    )
    files = [f for f in files if f.path != listed] + [entry]
    tmp = manifest_path.with_name(manifest_path.name + ".tmp")
    write_manifest(Manifest(files=sorted(files, key=lambda f: f.path)), tmp)
    tmp.replace(manifest_path)
    return manifest_path


def read_export(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
