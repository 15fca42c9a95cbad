"""Optional audit log of decisions: who was classified how, by which model, when; never the text.

One row per classified conversation: time, request id, conversation id (phone numbers in it pseudonymised,
``classifier.pseudonym``, unless the service runs with ``audit_raw_ids``), SHA-256 of the rendered text
(``classifier.render.render_text``: proves which text was judged without storing it), label, score,
threshold, model id. Any SQLAlchemy database URL works; a plain path means a SQLite file.

Rows are written by a background thread in batches (one transaction per batch), so a slow database never
blocks a request; ``close()`` flushes what is queued. A crash can lose the rows of the last moments.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
)
from sqlalchemy.engine import Engine

from classifier.inference import Prediction
from classifier.pseudonym import RAW_IDS, Pseudonymiser
from classifier.render import render_text
from classifier.schema import Conversation

log = logging.getLogger(__name__)

AUDIT_TABLE = "scopeguard_decisions"
_WRITE_BATCH = 500

metadata = MetaData()
decisions = Table(
    AUDIT_TABLE,
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("request_id", String(64)),
    Column("conversation_id", String(1024), nullable=False),
    Column("text_sha256", String(64), nullable=False),
    Column("label", String(32), nullable=False),
    Column("score", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_id", String(256), nullable=False),
)


@dataclass(frozen=True)
class Decision:
    time: datetime
    request_id: str | None
    conversation_id: str
    text_sha256: str
    label: str
    score: float
    threshold: float
    model_id: str

    @classmethod
    def of(cls, conv: Conversation, prediction: Prediction, request_id: str | None) -> Decision:
        return cls(
            time=datetime.now(UTC),
            request_id=request_id,
            conversation_id=conv.id,
            text_sha256=hashlib.sha256(render_text(conv).encode("utf-8")).hexdigest(),
            label=prediction.label,
            score=prediction.score,
            threshold=prediction.threshold,
            model_id=prediction.model,
        )


def database_url(url_or_path: str) -> str:
    """A SQLAlchemy URL as is; anything without ``://`` is a SQLite file path."""
    return url_or_path if "://" in url_or_path else f"sqlite:///{url_or_path}"


class AuditLog:
    """Writes decisions to a database from a background thread. Use ``open()``; ``close()`` flushes."""

    def __init__(self, url: str, pseudo: Pseudonymiser = RAW_IDS) -> None:
        self.url = database_url(url)
        self.pseudo = pseudo
        self._queue: queue.SimpleQueue[list[Decision] | None] = queue.SimpleQueue()
        self._opened = threading.Event()
        self._error: BaseException | None = None
        self._engine: Engine | None = None
        self._thread = threading.Thread(target=self._write_loop, name="scopeguard-audit", daemon=True)

    @classmethod
    def open(cls, url: str, pseudo: Pseudonymiser = RAW_IDS) -> AuditLog:
        """Connect, create the table if needed and start the writer; raises if the database is unusable.
        Conversation ids are recorded as ``pseudo`` writes them (phone numbers replaced)."""
        audit = cls(url, pseudo)
        audit._thread.start()
        audit._opened.wait()
        if audit._error is not None:
            raise ValueError(f"audit database {url!r} cannot be used: {audit._error}") from audit._error
        return audit

    def record(self, decisions_: list[Decision]) -> None:
        if decisions_:
            self._queue.put(
                [replace(d, conversation_id=self.pseudo.text(d.conversation_id)) for d in decisions_]
            )

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _write_loop(self) -> None:
        try:
            # Everything database-related happens in this thread (SQLite connections are per thread).
            self._engine = create_engine(self.url)
            metadata.create_all(self._engine)
        except Exception as exc:
            self._error = exc
            self._opened.set()
            return
        self._opened.set()
        stopping = False
        while not stopping:
            rows: list[Decision] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                    break
                rows.extend(item)
                if len(rows) >= _WRITE_BATCH or self._queue.empty():
                    break
                item = self._queue.get()
            self._write(rows)
        self._engine.dispose()

    def _write(self, rows: list[Decision]) -> None:
        if not rows or self._engine is None:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(decisions), [asdict(row) for row in rows])
        except Exception as exc:  # keep serving; the failure is visible in the logs
            log.error("audit write of %d decisions failed: %s", len(rows), type(exc).__name__)
