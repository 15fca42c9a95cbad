"""``jsonl``: schema v1, one conversation object per line (see docs/FORMATS.md).

Blank lines are not records. Every other line yields exactly one Record or one RecordError.

A ``.json`` file that is one JSON document (pretty-printed over several lines, or an array: its first
line is not an object by itself and the whole file parses) is read whole, as one object or an array of
objects, each located at the line it starts on; this holds for every JSON format (jsonl, openai,
wa-cloud). Documents over ``MAX_DOCUMENT_BYTES`` are refused
with the command that converts them to JSON Lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from classifier.readers.base import (
    FileStats,
    Line,
    ReadOptions,
    Record,
    first_nonblank_line,
    iter_lines,
    max_line_bytes,
    open_binary,
    strip_gz,
)
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


MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_DECODER = json.JSONDecoder()


def is_json_document(path: Path, first: str | None) -> bool:
    """A ``.json`` file holding one JSON document (an object over several lines, or an array) rather than
    JSON Lines: its first line is not a JSON object by itself, and the whole file parses as one value."""
    if first is None or not strip_gz(path.name).lower().endswith(".json") or first[0] not in "{[":
        return False
    try:
        if isinstance(orjson.loads(first), dict):
            return False  # JSON Lines
    except orjson.JSONDecodeError:
        pass
    with open_binary(path) as handle:
        raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        return True  # document_values says how to convert it
    try:
        orjson.loads(raw.lstrip(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        return False  # broken JSON Lines: the jsonl reader reports each bad line
    return True


def document_values(path: Path, source: str) -> Iterator[tuple[Line, Any | RecordError]]:
    """(line the value starts on, value) for a JSON document: the object, or each element of an array."""
    with open_binary(path) as handle:
        raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        yield Line(1, ""), RecordError(
            source, 1, None, f"JSON document over {MAX_DOCUMENT_BYTES} bytes; convert it to JSON Lines "
            f"(jq -c '.[]' {path.name} > {path.stem}.jsonl) and read that",
        )  # fmt: skip
        return
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    start = len(text) - len(text.lstrip())
    try:
        if text[start] != "[":
            yield _value_at(text, start)
            return
        pos = _skip_space(text, start + 1)
        while text[pos] != "]":
            yield _value_at(text, pos)
            pos = _skip_space(text, _DECODER.raw_decode(text, pos)[1])
            if text[pos] == ",":
                pos = _skip_space(text, pos + 1)
    except (json.JSONDecodeError, IndexError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else text.count("\n") + 1
        yield Line(line, ""), RecordError(source, line, None, f"invalid JSON document: {exc}")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _value_at(text: str, pos: int) -> tuple[Line, Any]:
    value, _ = _DECODER.raw_decode(text, pos)
    return Line(text.count("\n", 0, pos) + 1, ""), value


def _maybe_document(path: Path) -> bool:
    if not strip_gz(path.name).lower().endswith(".json"):
        return False
    try:
        return is_json_document(path, first_nonblank_line(path))
    except (EOFError, OSError):
        return False  # unreadable: the line reader reports where it breaks


def json_lines(path: Path, source: str, options: ReadOptions) -> Iterator[tuple[Line, Any | RecordError]]:
    """(line, decoded value or error) for every non-blank line (or every value of a JSON document)."""
    if _maybe_document(path):
        yield from document_values(path, source)
        return
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
