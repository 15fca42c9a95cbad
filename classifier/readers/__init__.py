"""Readers: conversations from files in every supported format, one at a time.

``read_conversations(paths, format="auto", ...)`` streams items from files and directories:

- a :class:`Record` ``(conversation, source, line)`` for every valid conversation, where ``source`` is
  the file as given and ``line`` the 1-based physical line the conversation starts on (batch outputs
  write ``record.location``, i.e. ``"<file>:<line>"``);
- a :class:`~classifier.schema.RecordError` (``source``, ``line``, ``record_id``, ``problem``) for every
  record that cannot be used. Reading continues after it; the caller decides whether to stop.

Records are yielded, not raised, so one bad line never ends a run. Only problems with the request
itself raise, and they raise before the first item is yielded: a missing path (FileNotFoundError), an
unknown ``format`` or a file whose format cannot be detected (ValueError naming the file and the
``--format`` values). A file that cannot be read on (truncated gzip) yields one RecordError at the line
where it breaks, and reading goes on with the next file.

Memory: jsonl, openai and csv stream with flat memory (csv keeps the current conversation and the set
of finished ids); whatsapp-txt holds one export (= one conversation); wa-cloud holds every message of
one file until it ends, because a customer's messages may be anywhere in the file.

A :class:`ReadStats` passed as ``stats`` is filled while reading: per file, ``read == ok + failed``
(items yielded), plus ``skipped`` input items left out by a documented rule, by reason.

Directories are read recursively, files in sorted order, keeping only supported extensions
(``.jsonl .json .csv .txt``, each optionally ``.gz``). ``<file>.meta.json`` is reserved for sidecars
(settings of a whatsapp-txt export) and is never read as data, even when named explicitly; a file named
``manifest.json`` in a directory is a data manifest and is left out when the directory is read.

Format detection (``format="auto"``), after removing ``.gz``: ``.csv`` is csv, ``.txt`` is
whatsapp-txt, ``.jsonl``/``.json`` look at the first non-empty line: ``turns`` means jsonl,
``messages`` openai, ``entry``/``object``/``messaging_product`` wa-cloud; a ``.json`` file holding
one JSON document (an object over several lines, or an array) is judged by its first object.
Formats: docs/FORMATS.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import orjson

from classifier.readers.base import (
    FileStats,
    ReadOptions,
    ReadStats,
    Record,
    StreamBroken,
    first_nonblank_line,
    strip_gz,
)
from classifier.readers.csv_long import read_csv
from classifier.readers.jsonl import document_values, is_json_document, read_jsonl
from classifier.readers.openai import read_openai
from classifier.readers.wa_cloud import read_wa_cloud
from classifier.readers.whatsapp_txt import SIDECAR_SUFFIX, read_whatsapp_txt
from classifier.schema import DEFAULT_LIMITS, Limits, RecordError

__all__ = [
    "DATA_EXTENSIONS",
    "FORMATS",
    "FileStats",
    "ReadOptions",
    "ReadStats",
    "Record",
    "detect_format",
    "expand_paths",
    "read_conversations",
]

Reader = Callable[[Path, str, ReadOptions, FileStats], Iterator[Record | RecordError]]

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "openai": read_openai,
    "csv": read_csv,
    "whatsapp-txt": read_whatsapp_txt,
    "wa-cloud": read_wa_cloud,
}
FORMATS: tuple[str, ...] = tuple(READERS)
DATA_EXTENSIONS = (".jsonl", ".json", ".csv", ".txt")
# A data manifest (classifier.manifest: data/manifest.json, data/own/manifest.json) lies beside the data it
# lists; reading the folder reads the data, not the manifest.
DATA_MANIFEST_NAME = "manifest.json"

# Top-level keys that identify a JSON Lines format, checked in this order.
_JSON_KEYS = (
    ("turns", "jsonl"),
    ("messages", "openai"),
    ("entry", "wa-cloud"),
    ("object", "wa-cloud"),
    ("messaging_product", "wa-cloud"),
)


def _format_list() -> str:
    return ", ".join(FORMATS)


def is_sidecar(path: Path) -> bool:
    return strip_gz(path.name).lower().endswith(SIDECAR_SUFFIX)


def _is_data_file(path: Path) -> bool:
    name = strip_gz(path.name).lower()
    return name.endswith(DATA_EXTENSIONS) and not is_sidecar(path) and name != DATA_MANIFEST_NAME


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to read, in order: files as given, directories as their sorted recursive data files."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and _is_data_file(p)))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return files


def _json_format(first: str) -> str | None:
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        # A broken first line still names its keys; use them rather than refusing the whole file.
        for key, fmt in _JSON_KEYS:
            if re.search(rf'"{key}"\s*:', first):
                return fmt
        return None
    if isinstance(obj, dict):
        for key, fmt in _JSON_KEYS:
            if key in obj:
                return fmt
    return None


def _first_document_value(path: Path) -> str:
    """The first object of a pretty-printed JSON document, as one line of JSON (for detection)."""
    for _, value in document_values(path, str(path)):
        return "" if isinstance(value, RecordError) else orjson.dumps(value).decode()
    return ""


def detect_format(path: Path) -> str | None:
    """The format of ``path`` by extension and first line; None for an empty JSON Lines file.

    Raises ValueError naming the file and the --format values when the format cannot be told.
    """
    name = strip_gz(path.name).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".txt"):
        return "whatsapp-txt"
    if name.endswith((".jsonl", ".json")):
        try:
            first = first_nonblank_line(path)
        except (EOFError, OSError):
            return "jsonl"  # unreadable from the start: the jsonl reader reports where it breaks
        if first is None:
            return None
        if is_json_document(path, first):
            first = _first_document_value(path)
        fmt = _json_format(first)
        if fmt is not None:
            return fmt
        hint = " (a JSON document? scopeguard reads JSON Lines, one object per line)" if first in "[{" else ""
        raise ValueError(
            f"{path}: cannot tell the format from the first line: expected a 'turns' (jsonl), 'messages' "
            f"(openai) or 'entry'/'messaging_product' (wa-cloud) key{hint}; pass --format, one of "
            f"{_format_list()}"
        )
    raise ValueError(
        f"{path}: unknown file type; expected .jsonl, .json, .csv or .txt (optionally .gz), "
        f"or pass --format, one of {_format_list()}"
    )


def read_conversations(
    paths: str | Path | Iterable[str | Path],
    format: str = "auto",
    *,
    limits: Limits = DEFAULT_LIMITS,
    business_sender: str | None = None,
    window_hours: float = 24.0,
    stats: ReadStats | None = None,
) -> Iterator[Record | RecordError]:
    """Stream Records and RecordErrors from files and directories (see the module docstring)."""
    if format != "auto" and format not in READERS:
        raise ValueError(f"unknown format {format!r}; expected auto or one of {_format_list()}")
    if window_hours <= 0:
        raise ValueError(f"window_hours must be positive, got {window_hours}")
    if isinstance(paths, str | Path):
        paths = [paths]
    stats = stats if stats is not None else ReadStats()
    options = ReadOptions(limits=limits, business_sender=business_sender, window_hours=window_hours)
    # Formats are decided for every file before the first record, so a usage error (unknown file
    # type) stops the run before anything is reported.
    plan: list[tuple[Path, str | None]] = []
    for path in expand_paths(paths):
        if is_sidecar(path):
            stats.sidecars.append(str(path))
            continue
        plan.append((path, detect_format(path) if format == "auto" else format))
    for path, fmt in plan:
        source = str(path)
        file_stats = stats.for_file(source)
        if fmt is None:
            continue  # empty file: no records
        try:
            for item in READERS[fmt](path, source, options, file_stats):
                file_stats.count(item)
                yield item
        except StreamBroken as err:
            file_stats.count(err)
            yield err
