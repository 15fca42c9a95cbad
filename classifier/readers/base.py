"""What every reader shares: the yielded record type, statistics, options and line-by-line input.

Input is read as bytes and decoded line by line, so one badly encoded line (say latin-1 bytes in a UTF-8
file) is one located problem instead of a crash, and ``.gz`` files are read through the same path. A gzip
stream that breaks (truncated or corrupt) raises :class:`StreamBroken` at the line where it breaks; the
dispatcher in ``classifier.readers`` turns it into a RecordError for that file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from classifier.schema import DEFAULT_LIMITS, Conversation, Limits, RecordError

# One line of JSON may legitimately be large (a long conversation with free-form meta), but a line far
# beyond any allowed conversation is rejected before it is decoded, so a broken file cannot fill memory.
LINE_BYTES_PER_CHAR = 8
LINE_BYTES_SLACK = 1_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Record:
    """A valid conversation and where it came from (``source`` as given, 1-based physical ``line``)."""

    conversation: Conversation
    source: str
    line: int

    @property
    def location(self) -> str:
        """``<file>:<line>``, the form batch outputs use in their ``source`` field."""
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class ReadOptions:
    limits: Limits = DEFAULT_LIMITS
    business_sender: str | None = None
    window_hours: float = 24.0


@dataclass
class FileStats:
    """Counts for one file. ``read`` counts yielded items, so ``ok + failed == read`` always holds;
    ``skipped`` counts input items left out by a documented rule (e.g. wa-cloud status notifications,
    WhatsApp system lines), by reason."""

    read: int = 0
    ok: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, item: Record | RecordError) -> None:
        self.read += 1
        if isinstance(item, RecordError):
            self.failed += 1
        else:
            self.ok += 1

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n


@dataclass
class ReadStats:
    """Counts per file (keyed by the source name as given) and in total, filled while reading."""

    files: dict[str, FileStats] = field(default_factory=dict)
    sidecars: list[str] = field(default_factory=list)

    def for_file(self, source: str) -> FileStats:
        return self.files.setdefault(source, FileStats())

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files.values())

    @property
    def ok(self) -> int:
        return sum(f.ok for f in self.files.values())

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files.values())

    @property
    def skipped(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for stats in self.files.values():
            for reason, n in stats.skipped.items():
                total[reason] = total.get(reason, 0) + n
        return total


class StreamBroken(RecordError):
    """The file cannot be read on from this line (truncated or corrupt gzip, I/O error)."""


@dataclass(frozen=True)
class Line:
    """One physical line. ``problem`` is set when the bytes could not be used as they are (not UTF-8,
    over the size limit); ``text`` is then a lossy decoding, good only for locating the problem."""

    number: int
    text: str
    problem: str | None = None


def strip_gz(name: str) -> str:
    return name[:-3] if name.lower().endswith(".gz") else name


def open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def max_line_bytes(limits: Limits) -> int:
    return limits.max_conversation_chars * LINE_BYTES_PER_CHAR + LINE_BYTES_SLACK


def _decode(raw: bytes, number: int) -> Line:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # BOM written by Excel and Notepad
        raw = raw[3:]
    try:
        return Line(number, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1]
        problem = (
            f"line is not valid UTF-8: byte 0x{bad.hex()} at byte offset {exc.start} "
            "(latin-1/cp1252? re-save the file as UTF-8)"
        )
        return Line(number, raw.decode("utf-8", errors="replace"), problem)


def iter_lines(path: Path, source: str, limit: int) -> Iterator[Line]:
    """Physical lines of a plain or gzipped file, line endings removed, numbered from 1.

    Raises StreamBroken where a gzip stream ends early or is corrupt.
    """
    number = 0
    try:
        with open_binary(path) as handle:
            while True:
                raw = handle.readline(limit + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > limit and not raw.endswith(b"\n"):
                    size = len(raw)
                    while True:  # consume the rest of the oversized line without keeping it
                        rest = handle.readline(_CHUNK)
                        size += len(rest)
                        if not rest or rest.endswith(b"\n"):
                            break
                    yield Line(number, "", f"line has {size} bytes, over the limit of {limit}")
                    continue
                line = _decode(raw.rstrip(b"\r\n"), number)
                yield line
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        where = f"after line {number}" if number else "before the first line"
        raise StreamBroken(
            source, number + 1, None, f"cannot read on {where}: {exc} (truncated or corrupt file?)"
        ) from None


def first_nonblank_line(path: Path) -> str | None:
    """The first non-empty line (lossily decoded), for format detection; None for an empty file."""
    with open_binary(path) as handle:
        for raw in handle:
            text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if text:
                return text
    return None
