"""What a scoring run read, scored and quarantined, per input file: the ``<out stem>.summary.json`` sidecar.

``scopeguard score`` writes the sidecar next to its output when the run ends; ``scopeguard report`` reads
it back to show the accounting (read / scored / quarantined per file, the period covered, the model and
threshold) beside the verdict. The shape is the pydantic model ``RunManifest``, validated on load.

Duplicate ids: a conversation id seen before in the run is quarantined ("duplicate id"), so each
conversation is counted once. The run keeps a set of 8-byte digests of the ids it has seen: about 70
bytes per conversation in CPython (a 1-million-conversation run holds about 70 MB).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from classifier.readers import Record
from classifier.schema import RecordError
from classifier.scoring.rows import first_timestamp
from classifier.validation import validation_problems

SUMMARY_SUFFIX = ".summary.json"
MANIFEST_VERSION = 1
DUPLICATE_REASON = "duplicate id: an earlier record of this run has the same id; only the first is scored"

Item = Record | RecordError


def summary_path(out: Path) -> Path:
    """``scores.jsonl`` -> ``scores.summary.json`` (next to the output)."""
    return out.with_name(out.stem + SUMMARY_SUFFIX)


def _id_digest(conv_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(conv_id.encode("utf-8"), digest_size=8).digest(), "big")


def unique_ids(items: Iterator[Item], seen: set[int]) -> Iterator[Item]:
    """``items`` with every Record whose id was seen before turned into a "duplicate id" RecordError."""
    for item in items:
        if isinstance(item, Record):
            digest = _id_digest(item.conversation.id)
            if digest in seen:
                yield RecordError(item.source, item.line, item.conversation.id, DUPLICATE_REASON)
                continue
            seen.add(digest)
        yield item


class FileCounts(BaseModel):
    file: str
    read: int = 0
    scored: int = 0
    quarantined: int = 0
    skipped: int = 0


class Period(BaseModel):
    first: str
    last: str


class RunManifest(BaseModel):
    """The ``<out stem>.summary.json`` of a scoring run."""

    version: int = MANIFEST_VERSION
    model: str
    # the product arithmetic the model ran with on the scoring CPU (classifier.compute.choose_compute)
    compute: str | None = None
    threshold: float | None = None
    ids: str = Field("pseudonymised", description="pseudonymised or raw (--raw-ids)")
    started: str
    finished: str | None = None
    complete: bool = False
    inputs: list[str] = Field(default_factory=list)
    read: int = 0
    scored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    files: list[FileCounts] = Field(default_factory=list)
    period: Period | None = None
    quarantine: str | None = None

    @classmethod
    def load(cls, path: Path) -> RunManifest:
        try:
            return cls.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise ValueError(
                f"{path}: not a scoring summary ({validation_problems(exc)}); rerun `scopeguard score`"
            ) from None

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Accounting:
    """Counts per input file and the period covered, fed with every item the run scores or quarantines."""

    def __init__(self) -> None:
        self.started = now_iso()
        self.threshold: float | None = None
        self.files: dict[str, FileCounts] = {}
        self.duplicates = 0
        self.first_ts: str | None = None
        self.last_ts: str | None = None

    @staticmethod
    def empty(source: str) -> FileCounts:
        return FileCounts(file=source)

    def _file(self, source: str) -> FileCounts:
        return self.files.setdefault(source, FileCounts(file=source))

    def add(self, item: Item) -> None:
        counts = self._file(item.source)
        counts.read += 1
        if isinstance(item, RecordError):
            counts.quarantined += 1
            self.duplicates += item.problem == DUPLICATE_REASON
            return
        counts.scored += 1
        ts = first_timestamp(item.conversation)
        if ts is not None:
            self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)

    def period(self) -> Period | None:
        if self.first_ts is None or self.last_ts is None:
            return None
        return Period(first=self.first_ts, last=self.last_ts)
