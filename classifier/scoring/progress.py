"""Progress of a scoring run: a rich progress bar on a terminal, periodic log lines otherwise.

Progress is measured in input lines (counted in a quick pre-pass over the files, gzip included), so the
bar has a total and an ETA although records are streamed; a record's position is the lines of the files
before it plus its own line number. In-process scoring reports the records of a chunk as it goes
(``partial``, every ``PROGRESS_SLICE`` conversations, about once a second on CPU), so the bar does not wait
for whole chunks; plain log lines (not a terminal) still come every LOG_INTERVAL_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from classifier.readers.base import open_binary

LOG_INTERVAL_SECONDS = 10.0
_CHUNK = 1 << 20


def count_lines(path: Path) -> int:
    """Physical lines of a plain or gzipped file (a last line without newline counts); 0 if unreadable."""
    lines = 0
    last = b"\n"
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (OSError, EOFError, ValueError):
        pass  # a broken file is reported by its reader; the estimate only needs what was readable
    return lines + (last != b"\n")


class LinePositions:
    """Maps (source, line) of a record to its position among all input lines."""

    def __init__(self, files: Iterable[Path]) -> None:
        self.start: dict[str, int] = {}
        total = 0
        for path in files:
            self.start[str(path)] = total
            total += count_lines(path)
        self.total = total
        self._position = 0

    def advance(self, source: str, line: int | None) -> int:
        base = self.start.get(source)
        if base is not None and line is not None:
            # readers yield in file order; wa-cloud may yield an earlier line after a later one
            self._position = max(self._position, min(base + line, self.total))
        return self._position


class Progress:
    """Reports ``update`` calls as a rich bar (terminal) or a log line every LOG_INTERVAL_SECONDS."""

    def __init__(
        self,
        total_lines: int,
        stream: TextIO,
        *,
        interval: float = LOG_INTERVAL_SECONDS,
        label: str = "scoring",
    ) -> None:
        self.total = total_lines
        self.label = label
        self.stream = stream
        self.interval = interval
        self.fancy = stream.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._started = time.monotonic()
        self._last_log = self._started
        self._first_records = 0
        self._first_position = 0
        self._position = 0
        self._quarantined = 0

    def __enter__(self) -> Progress:
        if self.fancy:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(self.label),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TextColumn("lines  {task.fields[records]} records  {task.fields[rate]}/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("scoring", total=self.total or None, records=0, rate="-")
        return self

    def start_from(self, records: int, position: int) -> None:
        """Records and input position already done by an earlier run (resume): not counted in the rate."""
        self._first_records = records
        self._first_position = self._position = position

    def partial(self, records: int) -> None:
        """Records done while a chunk is still being scored (its input position is not known yet)."""
        self.update(self._position, records, self._quarantined)

    def update(self, position: int, records: int, quarantined: int) -> None:
        self._position, self._quarantined = position, quarantined
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-9)
        rate = (records - self._first_records) / elapsed
        if self._bar is not None:
            self._bar.update(self._task, completed=position, records=records, rate=f"{rate:,.0f}")
            return
        if now - self._last_log < self.interval:
            return
        self._last_log = now
        self._log(position, records, quarantined, rate, elapsed)

    def _log(self, position: int, records: int, quarantined: int, rate: float, elapsed: float) -> None:
        share = position / self.total if self.total else 0.0
        eta = "?"
        done_here = position - self._first_position
        if done_here > 0 and share < 1:
            remaining = elapsed * (self.total - position) / done_here
            eta = f"{int(remaining // 60)}m{int(remaining % 60):02d}s"
        print(
            f"{self.label}: {records} records ({quarantined} quarantined), {rate:,.0f} records/s, "
            f"line {position}/{self.total} ({share:.0%}), ETA {eta}",
            file=self.stream,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
