"""``jsonl``: schema v1, one conversation object per line (see docs/FORMATS.md).

Blank lines are not records. Every other line yields exactly one Record or one RecordError.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from classifier.readers.base import FileStats, Line, ReadOptions, Record, iter_lines, max_line_bytes
from classifier.schema import RecordError, parse_conversation


def decode_json_line(line: Line, source: str) -> Any:
    """The JSON value of one line; RecordError for encoding, size or syntax problems."""
    if line.problem is not None:
        raise RecordError(source, line.number, None, line.problem)
    try:
        return orjson.loads(line.text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(
            source, line.number, None, f"invalid JSON at column {exc.colno}: {exc.msg}"
        ) from None


def json_lines(path: Path, source: str, options: ReadOptions) -> Iterator[tuple[Line, Any | RecordError]]:
    """(line, decoded value or error) for every non-blank line."""
    for line in iter_lines(path, source, max_line_bytes(options.limits)):
        if line.problem is None and not line.text.strip():
            continue
        try:
            yield line, decode_json_line(line, source)
        except RecordError as err:
            yield line, err


def read_jsonl(
    path: Path, source: str, options: ReadOptions, stats: FileStats
) -> Iterator[Record | RecordError]:
    for line, value in json_lines(path, source, options):
        if isinstance(value, RecordError):
            yield value
            continue
        try:
            conv = parse_conversation(value, source=source, line=line.number, limits=options.limits)
        except RecordError as err:
            yield err
            continue
        yield Record(conv, source, line.number)
