"""One review server per queue: an exclusive lock on ``<queue>.serve.lock`` held while the page runs.

The operating system drops the lock when the process ends, however it ends, so a crashed server never
blocks the next one. A second ``review serve`` on the same queue fails at once, naming the server that
holds it (scripted ``review label`` still works beside a server: every write is its own transaction).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO

from review.queue import QueueError, now

LOCK_SUFFIX = ".serve.lock"


class ServerLock:
    def __init__(self, queue: Path) -> None:
        self.path = queue.with_name(queue.name + LOCK_SUFFIX)
        self._fh: IO[str] | None = None

    def acquire(self, url: str) -> ServerLock:
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "{}"
            fh.close()
            try:
                info = json.loads(holder)
            except json.JSONDecodeError:
                info = {}
            raise QueueError(
                f"{self.path.name.removesuffix(LOCK_SUFFIX)} is already being served "
                f"(pid {info.get('pid', '?')}, {info.get('url', '?')}, since {info.get('since', '?')}); "
                "open that page, or stop that server "
                "first. Two servers on one queue are refused"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "url": url, "since": now()}))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> ServerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
