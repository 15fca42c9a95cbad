"""Output files that grow by appending and can be cut back to a checkpointed byte offset.

The output kind follows the extension of ``--out``: ``.jsonl`` (or ``.json``), ``.csv`` or ``.parquet``
(no ``.gz``: a gzip stream cannot be cut back to a row boundary on resume).
JSONL and CSV are appended to directly. Parquet cannot be appended to or truncated, so rows go to a
JSONL staging file ``OUT.partial.jsonl`` (checkpointed like any JSONL output) that is converted to
Parquet, row group by row group, when the run ends; the staging file is then removed.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from classifier.scoring.rows import COLUMNS, META_KEYS, PROFILE_KEYS, flatten

OUTPUT_KINDS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
STAGING_SUFFIX = ".partial.jsonl"
PARQUET_ROWS_PER_GROUP = 10_000


def output_kind(path: Path) -> str:
    """jsonl, csv or parquet from the extension; ValueError naming the choices otherwise."""
    kind = OUTPUT_KINDS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{path}: cannot tell the output format from the extension {path.suffix or '(none)'!r}; "
            "expected .jsonl, .csv or .parquet"
        )
    return kind


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


class AppendFile:
    """A binary file opened for appending rows, fsync'd on demand, optionally cut back on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def open(self, offset: int | None) -> None:
        """Start a new file (``offset`` None) or keep the first ``offset`` bytes of an existing one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if offset is None:
            self._handle = self.path.open("wb")
            self._write_header()
            return
        if not self.path.is_file():
            raise ValueError(f"cannot resume: {self.path} is missing; run again without --resume")
        size = self.path.stat().st_size
        if size < offset:
            raise ValueError(
                f"cannot resume: {self.path} has {size} bytes but the checkpoint recorded {offset}; "
                "the file was changed after the run stopped; run again without --resume"
            )
        self._handle = self.path.open("r+b")
        self._handle.truncate(offset)  # drop rows written after the last checkpoint
        self._handle.seek(offset)

    def _write_header(self) -> None:
        pass

    def write_bytes(self, data: bytes) -> None:
        assert self._handle is not None, "open() first"
        self._handle.write(data)

    def sync(self) -> int:
        """Flush and fsync; returns the byte offset everything written so far ends at."""
        assert self._handle is not None, "open() first"
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class JsonlFile(AppendFile):
    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        self.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))


class CsvFile(AppendFile):
    """Flat columns (``COLUMNS``); ``evidence`` as JSON text; empty cells for missing values."""

    def _write_header(self) -> None:
        self._write_records([list(COLUMNS)])

    def _write_records(self, records: list[list[Any]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(records)
        self.write_bytes(buffer.getvalue().encode("utf-8"))

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        records = []
        for row in rows:
            flat = flatten(row)
            records.append([_csv_cell(flat[column]) for column in COLUMNS])
        self._write_records(records)


class ScoreOutput:
    """The score file of a run: where rows are appended (``data_path``) and the final file (``path``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = output_kind(path)
        if self.kind == "parquet":
            self.data_path = path.with_name(path.name + STAGING_SUFFIX)
            self.file: JsonlFile | CsvFile = JsonlFile(self.data_path)
        elif self.kind == "csv":
            self.data_path = path
            self.file = CsvFile(path)
        else:
            self.data_path = path
            self.file = JsonlFile(path)

    def open(self, offset: int | None) -> None:
        self.file.open(offset)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        self.file.write(rows)

    def sync(self) -> int:
        return self.file.sync()

    def close(self) -> None:
        self.file.close()

    def finish(self) -> None:
        """Close; for Parquet, convert the staging file and remove it."""
        self.close()
        if self.kind == "parquet":
            jsonl_to_parquet(self.data_path, self.path)
            self.data_path.unlink()


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def parquet_schema() -> Any:
    import pyarrow as pa

    evidence = pa.struct([("turn", pa.int32()), ("role", pa.string()), ("score", pa.float64())])
    return pa.schema(
        [
            ("id", pa.string()),
            ("label", pa.string()),
            ("score", pa.float64()),
            ("threshold", pa.float64()),
            ("model", pa.string()),
            ("evidence", pa.list_(evidence)),
            ("profile", pa.struct([(key, pa.string()) for key in PROFILE_KEYS])),
            ("source", pa.string()),
            ("lang", pa.string()),
            ("ts", pa.string()),
            ("meta", pa.struct([(key, pa.string()) for key in META_KEYS])),
        ]
    )


def require_pyarrow(purpose: str) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(
            f"{purpose} needs pyarrow: pip install 'scopeguard[report]' (or pip install pyarrow)"
        ) from None


def jsonl_to_parquet(source: Path, target: Path, rows_per_group: int = PARQUET_ROWS_PER_GROUP) -> None:
    """Convert score rows from JSONL to Parquet with flat memory (one row group at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    tmp = target.with_name(target.name + ".tmp")
    names = [field.name for field in schema]

    def table(rows: list[dict[str, Any]]) -> Any:
        columns = {name: [row.get(name) for row in rows] for name in names}
        return pa.Table.from_pydict(columns, schema=schema)

    with pq.ParquetWriter(tmp, schema) as writer:
        rows: list[dict[str, Any]] = []
        for row in _read_jsonl(source):
            rows.append(row)
            if len(rows) >= rows_per_group:
                writer.write_table(table(rows))
                rows = []
        if rows:
            writer.write_table(table(rows))
    os.replace(tmp, target)
