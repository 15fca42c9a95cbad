"""``csv``: long format, one row per message (see docs/FORMATS.md).

Columns ``conversation_id, role, text`` are required, ``ts, lang, label`` optional, in any order; any
other column is an error (nothing is silently ignored). Consecutive rows with the same
``conversation_id`` form one conversation, so memory stays flat: only the current conversation's rows
(capped at ``max_turns + 1``) and the set of finished ids are kept. An id that reappears after other
ids is an error for the later block, naming both places (sort the file by id first); the earlier block
has already been yielded. ``lang``/``label`` are per conversation: the non-empty values of its rows
must agree. Line numbers are physical lines (a quoted field may span several).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from classifier.readers.base import FileStats, Line, ReadOptions, Record, iter_lines, max_line_bytes
from classifier.schema import RecordError, Turn, describe_validation_error, parse_conversation

REQUIRED_COLUMNS = ("conversation_id", "role", "text")
OPTIONAL_COLUMNS = ("ts", "lang", "label")


@dataclass
class _Block:
    conv_id: str
    first_line: int
    earlier: tuple[int, int] | None = None  # lines of an earlier block with the same id
    last_line: int = 0
    turns: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    values: dict[str, tuple[str, int]] = field(default_factory=dict)  # lang/label -> (value, line)
    problems: list[tuple[int, str]] = field(default_factory=list)


class _PhysicalLines:
    """Feeds decoded lines to csv.reader and remembers which physical lines had problems."""

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines
        self.problems: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            if line.problem is not None:
                self.problems[line.number] = line.problem
            yield line.text + "\n"


def _header_error(source: str, header: list[str]) -> RecordError | None:
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if not (missing or unknown or duplicated):
        return None
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)}")
    if duplicated:
        parts.append(f"duplicated column(s) {', '.join(duplicated)}")
    return RecordError(
        source,
        1,
        None,
        f"{'; '.join(parts)}: found {', '.join(names) or 'no columns'}; expected "
        f"{', '.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})",
    )


def _add_row(block: _Block, row: dict[str, str], line: int, options: ReadOptions) -> None:
    block.rows += 1
    block.last_line = line
    for key in ("lang", "label"):
        value = (row.get(key) or "").strip()
        if not value:
            continue
        seen = block.values.setdefault(key, (value, line))
        if seen[0] != value:
            block.problems.append((line, f"{key} {value!r} differs from {seen[0]!r} on line {seen[1]}"))
    if block.rows > options.limits.max_turns + 1:
        return  # already over the limit: count the row, do not keep it
    ts = (row.get("ts") or "").strip() or None
    try:
        turn = Turn.model_validate({"role": row["role"].strip(), "text": row["text"], "ts": ts})
    except ValidationError as exc:
        block.problems.append((line, describe_validation_error(exc)))
        return
    block.turns.append(turn.model_dump(exclude_none=True))


def _finish(block: _Block, source: str, options: ReadOptions) -> Record | RecordError:
    record_id = block.conv_id or None
    if block.earlier is not None:
        where = f"lines {block.first_line}-{block.last_line}"
        before = f"lines {block.earlier[0]}-{block.earlier[1]}"
        problem = (
            f"conversation_id {block.conv_id!r} reappears on {where} after its rows on {before}; the rows "
            "of a conversation must be consecutive (sort the file by conversation_id)"
        )
        block.problems.insert(0, (block.first_line, problem))
    if block.problems:
        first = block.problems[0][0]
        text = "; ".join(
            p if n == first and k == 0 else f"line {n}: {p}" for k, (n, p) in enumerate(block.problems)
        )
        return RecordError(source, first, record_id, text)
    if block.rows > options.limits.max_turns:
        return RecordError(
            source,
            block.first_line,
            record_id,
            f"has {block.rows} rows (lines {block.first_line}-{block.last_line}), over the limit of "
            f"{options.limits.max_turns} turns",
        )
    record: dict[str, Any] = {"id": block.conv_id, "turns": block.turns}
    for key, (value, _) in block.values.items():
        record[key] = value
    try:
        conv = parse_conversation(record, source=source, line=block.first_line, limits=options.limits)
    except RecordError as err:
        return err
    return Record(conv, source, block.first_line)


def _rows(reader: Any) -> Iterator[tuple[int, int, list[str] | csv.Error]]:
    """(first physical line, last physical line, cells or the parse error) of every non-blank row."""
    end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit(): that row only
            start, end = end + 1, reader.line_num
            yield start, end, exc
            continue
        start, end = end + 1, reader.line_num
        if cells and not (len(cells) == 1 and not cells[0].strip()):
            yield start, end, cells


def read_csv(
    path: Path, source: str, options: ReadOptions, stats: FileStats
) -> Iterator[Record | RecordError]:
    lines = _PhysicalLines(iter_lines(path, source, max_line_bytes(options.limits)))
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield RecordError(source, 1, None, f"cannot parse the header row: {exc}")
        return
    if header is None:
        return
    if lines.problems:  # the header line itself is not UTF-8
        number, problem = min(lines.problems.items())
        yield RecordError(source, number, None, f"header row: {problem}")
        return
    header_problem = _header_error(source, header)
    if header_problem is not None:
        yield header_problem
        return
    names = [h.strip() for h in header]
    finished: dict[str, tuple[int, int]] = {}  # id -> (first, last line) of its first block
    block: _Block | None = None
    for start, end, cells in _rows(reader):
        problems = [(n, lines.problems.pop(n)) for n in range(start, end + 1) if n in lines.problems]
        if isinstance(cells, csv.Error):
            detail = f"cannot parse the row: {cells}" + "".join(f"; line {n}: {p}" for n, p in problems)
            yield RecordError(source, start, None, detail)
            continue
        if len(cells) != len(names):
            # a row we cannot attribute to a conversation is an error of its own
            detail = f"has {len(cells)} fields, expected {len(names)} ({', '.join(names)})"
            detail += "".join(f"; line {n}: {p}" for n, p in problems)
            yield RecordError(source, start, None, detail)
            continue
        row = dict(zip(names, cells, strict=True))
        row_id = row["conversation_id"].strip()
        if block is not None and row_id != block.conv_id:
            finished.setdefault(block.conv_id, (block.first_line, block.last_line))
            yield _finish(block, source, options)
            block = None
        if block is None:
            block = _Block(row_id, start, earlier=finished.get(row_id))
        block.problems.extend(problems)
        if not row_id:
            block.problems.append((start, "conversation_id is empty"))
        _add_row(block, row, start, options)
    if block is not None:
        yield _finish(block, source, options)
