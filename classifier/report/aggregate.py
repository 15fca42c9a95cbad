"""One streaming pass over score files: everything the report shows, in memory independent of their size.

Kept per run: counts per group of each dimension and per day, a fixed-bin score histogram, the top
flagged rows (a bounded heap), and, with human labels, a confusion matrix. Only the labels (id -> label)
and, with ``--show-text``, the evidence turns of the top flagged conversations are held in full.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from classifier.schema import POSITIVE_LABEL
from classifier.scoring.outputs import output_kind, require_pyarrow

NO_VALUE = "(none)"
HISTOGRAM_BINS = 40
TOP_FLAGGED = 20
BORDERLINE = 10  # conversations nearest the threshold, on either side
DUPLICATES_LISTED = 50
KEPT_FIELDS = ("id", "score", "threshold", "label", "source", "evidence", "lang")
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("lang", "Language"),
    ("meta.channel", "Channel"),
    ("meta.business", "Business"),
    ("meta.domain", "Domain"),
    ("meta.category", "Category"),
)


def _score_error(source: str, line: int, problem: str) -> ValueError:
    return ValueError(
        f"{source} line {line}: {problem}; expected rows written by `scopeguard score` "
        "(id, label, score, ...)"
    )


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise _score_error(str(path), number, f"invalid JSON ({exc.msg})") from None
            yield number, row


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for flat in reader:
            row: dict[str, Any] = {k: v for k, v in flat.items() if v not in ("", None) and "." not in k}
            meta = {k.split(".", 1)[1]: v for k, v in flat.items() if k.startswith("meta.") and v}
            if meta:
                row["meta"] = meta
            for key in ("score", "threshold"):
                if key in row:
                    row[key] = float(row[key])
            row["evidence"] = orjson.loads(row["evidence"]) if row.get("evidence") else []
            yield reader.line_num, row


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    require_pyarrow("reading Parquet scores")
    import pyarrow.dataset as ds

    # a file, or a folder of part files as Spark writes it (read in part-file name order = row order)
    number = 0
    for batch in ds.dataset(path, format="parquet").to_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield number, {k: v for k, v in row.items() if v is not None}


def read_score_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row) of a JSONL, CSV or Parquet score file, checked for id/label/score."""
    kind = output_kind(path)
    reader = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[kind]
    for number, row in reader(path):
        if not isinstance(row, dict) or not all(k in row for k in ("id", "label", "score")):
            raise _score_error(str(path), number, "id, label or score is missing")
        yield number, row


def group_value(row: dict[str, Any], dimension: str) -> str:
    if dimension.startswith("meta."):
        value = (row.get("meta") or {}).get(dimension.split(".", 1)[1])
    else:
        value = row.get(dimension)
    return str(value) if value not in (None, "") else NO_VALUE


def row_day(row: dict[str, Any]) -> date | None:
    ts = row.get("ts")
    if not ts:
        return None
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).date()
    except ValueError:
        return None


@dataclass
class Counts:
    n: int = 0
    k: int = 0  # general_assistance

    def add(self, general: bool) -> None:
        self.n += 1
        self.k += general


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unlabelled: int = 0  # scored rows without a human label

    @property
    def matched(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass
class Aggregate:
    total: Counts = field(default_factory=Counts)
    groups: dict[str, dict[str, Counts]] = field(default_factory=dict)
    days: dict[date, Counts] = field(default_factory=dict)
    without_ts: int = 0
    histogram: dict[str, list[int]] = field(
        default_factory=lambda: {
            "business_support": [0] * HISTOGRAM_BINS,
            POSITIVE_LABEL: [0] * HISTOGRAM_BINS,
        }
    )
    thresholds: Counter[float] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    top: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)  # min-heap
    near: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)  # min-heap of -distance
    confusion: Confusion | None = None
    duplicates: Duplicates = field(default_factory=lambda: Duplicates())

    def add(self, row: dict[str, Any], seq: int, labels: dict[str, str] | None) -> None:
        general = row["label"] == POSITIVE_LABEL
        score = float(row["score"])
        self.total.add(general)
        for dimension, _ in DIMENSIONS:
            value = group_value(row, dimension)
            self.groups.setdefault(dimension, {}).setdefault(value, Counts()).add(general)
        day = row_day(row)
        if day is None:
            self.without_ts += 1
        else:
            self.days.setdefault(day, Counts()).add(general)
        bin_index = min(int(score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)
        self.histogram.setdefault(str(row["label"]), [0] * HISTOGRAM_BINS)[max(bin_index, 0)] += 1
        if "threshold" in row:
            self.thresholds[float(row["threshold"])] += 1
        if "model" in row:
            self.models[str(row["model"])] += 1
        kept = {k: row.get(k) for k in KEPT_FIELDS}
        if general:
            _push(self.top, (score, -seq, kept), TOP_FLAGGED)
        if "threshold" in row:
            _push(self.near, (-abs(score - float(row["threshold"])), -seq, kept), BORDERLINE)
        if labels is not None:
            self._compare(row, general, labels)

    def _compare(self, row: dict[str, Any], general: bool, labels: dict[str, str]) -> None:
        assert self.confusion is not None
        truth = labels.get(str(row["id"]))
        if truth is None:
            self.confusion.unlabelled += 1
        elif truth == POSITIVE_LABEL:
            if general:
                self.confusion.tp += 1
            else:
                self.confusion.fn += 1
        elif general:
            self.confusion.fp += 1
        else:
            self.confusion.tn += 1

    def top_flagged(self) -> list[dict[str, Any]]:
        return [row for _, _, row in sorted(self.top, key=lambda item: (-item[0], -item[1]))]

    def borderline(self) -> list[dict[str, Any]]:
        """The conversations nearest the threshold (either label), by score, highest first."""
        return sorted((row for _, _, row in self.near), key=lambda row: -float(row["score"]))

    def dimensions_present(self) -> list[tuple[str, str]]:
        """Dimensions with at least one known value."""
        return [(d, title) for d, title in DIMENSIONS if set(self.groups.get(d, {})) - {NO_VALUE}]


def _push(
    heap: list[tuple[float, int, dict[str, Any]]], item: tuple[float, int, dict[str, Any]], size: int
) -> None:
    """Keep the ``size`` largest items (by their first two fields) in a min-heap."""
    if len(heap) < size:
        heapq.heappush(heap, item)
    elif item[:2] > heap[0][:2]:
        heapq.heapreplace(heap, item)


def _id_digest(row_id: Any) -> int:
    return int.from_bytes(hashlib.blake2b(str(row_id).encode("utf-8"), digest_size=8).digest(), "big")


@dataclass
class Duplicates:
    """Ids that occur in more than one row: each is counted once (its last row); the others are dropped."""

    dropped: int = 0
    listed: dict[str, list[str]] = field(default_factory=dict)  # id -> dropped rows (the first 50 ids)

    def add(self, row_id: str, dropped_at: str) -> None:
        self.dropped += 1
        if row_id in self.listed or len(self.listed) < DUPLICATES_LISTED:
            self.listed.setdefault(row_id, []).append(dropped_at)


def last_rows(paths: list[Path]) -> tuple[set[int], Duplicates]:
    """First pass: the sequence numbers of the last row of every id, and the earlier rows dropped.

    Memory: one dict entry (8-byte id digest -> three small ints) per distinct id, about 150 bytes each.
    """
    last: dict[int, tuple[int, int, int]] = {}  # id digest -> (seq, path index, row number)
    duplicates = Duplicates()
    seq = 0
    for index, path in enumerate(paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such score file")
        for number, row in read_score_rows(path):
            digest = _id_digest(row["id"])
            earlier = last.get(digest)
            if earlier is not None:
                duplicates.add(str(row["id"]), f"{paths[earlier[1]]} row {earlier[2]}")
            last[digest] = (seq, index, number)
            seq += 1
    return {entry[0] for entry in last.values()}, duplicates


def aggregate(paths: list[Path], labels: dict[str, str] | None = None) -> Aggregate:
    """Two streaming passes: which row of each id counts (the last), then the counts of those rows."""
    keep, duplicates = last_rows(paths)
    agg = Aggregate(confusion=Confusion() if labels is not None else None, duplicates=duplicates)
    seq = 0
    for path in paths:
        for _, row in read_score_rows(path):
            if seq in keep:
                agg.add(row, seq, labels)
            seq += 1
    return agg
