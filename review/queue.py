"""The review queue: one SQLite file (SQLAlchemy) holding the picked conversations and every label change.

Tables (``QUEUE_SCHEMA_VERSION`` 1):

* ``queue_meta``: ``format`` = ``scopeguard-review-queue`` (how a queue is told from any other SQLite
  file), ``schema_version``, ``created``;
* ``pick_runs``: one row per ``review pick``: inputs, model, profile, n, seed, and the accounting
  (read = considered + invalid, as in ``score``);
* ``items``: one row per picked conversation, holding only what review needs: the pseudonymised id and
  source, language, channel, the turns (role and text; timestamps and other meta are dropped), the
  business profile it was judged under (name, digest, text), the model's pre-label, score, threshold,
  evidence and turn scores, and why it was picked;
* ``events``: append-only, one row per change: reviewer, time, action (``label`` with
  ``business_support`` / ``general_assistance`` / ``unsure``, the general turns and a note; ``skip``;
  ``undo`` of the reviewer's latest change). A reviewer's current answer on an item is their latest change
  that was not undone. Nothing is ever updated or deleted, so every change stays with reviewer and time.

Writes are transactions (``BEGIN IMMEDIATE``, WAL journal, ``synchronous=FULL``): a label confirmed to the
caller is on disk, and a crash or kill loses none. Two writers wait for each other (busy timeout); a
stale write (the page saw an older state of the reviewer's answer than the queue has) is refused with
``ConflictError`` instead of overwriting it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

QUEUE_FORMAT = "scopeguard-review-queue"
QUEUE_SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
LABEL_CHOICES = ("business_support", "general_assistance", "unsure")
ACTIONS = ("label", "skip", "undo")
REVIEWER_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MAX_NOTE_CHARS = 2000


class QueueError(ValueError):
    """The queue file cannot be used (missing, not a queue, corrupt, another version) or a request is bad."""


class ConflictError(QueueError):
    """The reviewer's answer on this item changed since the caller saw it; nothing was written."""


class NotFoundError(QueueError):
    """No item with that id in the queue."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class QueueMeta(Base):
    __tablename__ = "queue_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PickRun(Base):
    __tablename__ = "pick_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(32))
    inputs: Mapped[list[Any]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(200))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    n: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    read: Mapped[int] = mapped_column(Integer)
    considered: Mapped[int] = mapped_column(Integer)
    invalid: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    quarantine: Mapped[str | None] = mapped_column(Text, nullable=True)


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conv_id: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(35), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    turns: Mapped[list[Any]] = mapped_column(JSON)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    pre_label: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    turn_scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSON)
    rank: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int] = mapped_column(ForeignKey("pick_runs.id"))
    digest: Mapped[str] = mapped_column(String(64), index=True)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)
    general_turns: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[str] = mapped_column(String(32))
    undoes: Mapped[int | None] = mapped_column(Integer, nullable=True)


@dataclass(frozen=True)
class Answer:
    """A reviewer's current answer on an item (their latest change not undone)."""

    event_id: int
    item_id: int
    reviewer: str
    action: str  # label | skip
    label: str | None
    general_turns: list[int]
    note: str | None
    at: str


def check_reviewer(name: str) -> str:
    if not REVIEWER_PATTERN.match(name or ""):
        raise QueueError(
            f"reviewer name {name!r} is not usable: 1-64 letters, digits or . _ @ - (e.g. alice)"
        )
    return name


def _check_file(path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise QueueError(f"{path} is a directory, not a review queue file")
    if not path.exists() or path.stat().st_size == 0:
        if not create:
            raise QueueError(
                f"{path}: no review queue there; make one with `scopeguard review pick ... --queue {path}`"
            )
        return
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise QueueError(
            f"{path} is not a review queue: it is not an SQLite file (made by `scopeguard review pick`); "
            "check the path, or pick into a new file"
        )


def _configure(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, IMMEDIATE
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class ReviewQueue:
    """An open queue file. ``ReviewQueue.open(path)`` refuses anything that is not a queue of this version;
    ``ReviewQueue.open(path, create=True)`` also makes a new one."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> ReviewQueue:
        path = Path(path)
        _check_file(path, create=create)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}", future=True)
        _configure(engine)
        queue = cls(path, engine)
        try:
            queue._check_or_init(create)
        except (DatabaseError, sqlite3.DatabaseError) as exc:
            engine.dispose()
            raise QueueError(
                f"{path} is not a usable review queue: SQLite says {getattr(exc, 'orig', exc)}; "
                "the file is damaged or not a queue. Restore it from a backup or pick into a new file"
            ) from None
        except QueueError:
            engine.dispose()
            raise
        return queue

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ReviewQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_or_init(self, create: bool) -> None:
        with self.engine.connect() as conn:
            check = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if check != "ok":
                raise QueueError(
                    f"{self.path} is damaged (SQLite quick_check: {check}); restore it from a backup"
                )
            tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
            conn.rollback()
        if not tables:
            if not create:
                raise QueueError(f"{self.path}: an empty SQLite file, not a review queue")
            Base.metadata.create_all(self.engine)
            with self.session() as s:
                s.add_all([
                    QueueMeta(key="format", value=QUEUE_FORMAT),
                    QueueMeta(key="schema_version", value=str(QUEUE_SCHEMA_VERSION)),
                    QueueMeta(key="created", value=now()),
                ])  # fmt: skip
            return
        if "queue_meta" not in tables:
            raise QueueError(
                f"{self.path} is an SQLite database but not a scopeguard review queue (its tables: "
                f"{', '.join(sorted(tables))}); pick into a new file"
            )
        with self.session() as s:
            meta = {m.key: m.value for m in s.scalars(select(QueueMeta))}
        if meta.get("format") != QUEUE_FORMAT:
            raise QueueError(f"{self.path} is not a scopeguard review queue (format {meta.get('format')!r})")
        if meta.get("schema_version") != str(QUEUE_SCHEMA_VERSION):
            raise QueueError(
                f"{self.path} is a review queue of schema version {meta.get('schema_version')}; this "
                f"scopeguard reads version {QUEUE_SCHEMA_VERSION}. Use the scopeguard that made it"
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                yield s
        except OperationalError as exc:
            raise QueueError(f"{self.path}: the queue could not be written ({exc.orig}); try again") from None

    # -- items ------------------------------------------------------------------------------------

    def known_ids(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(Item.conv_id)))

    def known_digests(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(Item.digest)))

    def add_run(self, run: PickRun, items: Sequence[Item]) -> int:
        """Store a pick run and its items in one transaction; returns how many items were added."""
        with self.session() as s:
            start = (s.scalar(select(func.max(Item.rank))) or 0) + 1
            s.add(run)
            s.flush()
            for k, item in enumerate(items):
                item.run_id = run.id
                item.rank = start + k
                s.add(item)
        return len(items)

    def items(self) -> list[Item]:
        with self.session() as s:
            return list(s.scalars(select(Item).order_by(Item.rank)))

    def item(self, item_id: int) -> Item:
        with self.session() as s:
            found = s.get(Item, item_id)
        if found is None:
            raise NotFoundError(f"no item {item_id} in {self.path}")
        return found

    def item_by_conv_id(self, conv_id: str) -> Item:
        with self.session() as s:
            found = s.scalar(select(Item).where(Item.conv_id == conv_id))
        if found is None:
            raise NotFoundError(
                f"no conversation {conv_id!r} in {self.path}; `scopeguard review status {self.path} --json` "
                "lists the pending ids"
            )
        return found

    def runs(self) -> list[PickRun]:
        with self.session() as s:
            return list(s.scalars(select(PickRun).order_by(PickRun.id)))

    # -- answers ----------------------------------------------------------------------------------

    def events(self) -> list[Event]:
        with self.session() as s:
            return list(s.scalars(select(Event).order_by(Event.id)))

    def answers(self, reviewer: str | None = None) -> dict[tuple[int, str], Answer]:
        """Current answer of every (item, reviewer): the latest change not undone."""
        return _replay(self.events(), reviewer)

    def record(
        self,
        item_id: int,
        reviewer: str,
        action: str,
        *,
        label: str | None = None,
        general_turns: Sequence[int] = (),
        note: str | None = None,
        expected: int | None = None,
    ) -> Event:
        """Append one change in a transaction. ``expected``: the event id of the reviewer's current answer
        on the item as the caller saw it (0: none); if the queue holds another, ``ConflictError``."""
        check_reviewer(reviewer)
        if action not in ("label", "skip"):
            raise QueueError(f"action {action!r} is not one of label, skip")
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise QueueError(f"the note has {len(note)} characters; at most {MAX_NOTE_CHARS}")
        with self.session() as s:
            item = s.get(Item, item_id)
            if item is None:
                raise NotFoundError(f"no item {item_id} in {self.path}")
            turns = _check_answer(item, action, label, general_turns)
            if expected is not None:
                events = list(s.scalars(select(Event).where(Event.reviewer == reviewer).order_by(Event.id)))
                current = _replay(events, reviewer).get((item_id, reviewer))
                if (current.event_id if current else 0) != expected:
                    raise ConflictError(
                        f"item {item_id} was changed by {reviewer} in another session since this page "
                        "loaded it; reload to see the current answer (nothing was written)"
                    )
            ev = Event(item_id=item_id, reviewer=reviewer, action=action, label=label,
                       general_turns=turns, note=note or None, at=now())  # fmt: skip
            s.add(ev)
        return ev

    def undo(self, reviewer: str) -> Event | None:
        """Undo the reviewer's latest change that is not undone yet; None when there is nothing to undo."""
        check_reviewer(reviewer)
        with self.session() as s:
            events = list(s.scalars(select(Event).where(Event.reviewer == reviewer).order_by(Event.id)))
            target = _undoable(events)
            if target is None:
                return None
            ev = Event(item_id=target.item_id, reviewer=reviewer, action="undo", undoes=target.id, at=now())
            s.add(ev)
        return ev


def _check_answer(
    item: Item, action: str, label: str | None, general_turns: Sequence[int]
) -> list[int] | None:
    if action == "skip":
        return None
    if label not in LABEL_CHOICES:
        raise QueueError(f"label {label!r} is not one of {', '.join(LABEL_CHOICES)}")
    turns = sorted(set(general_turns))
    if turns and label != "general_assistance":
        raise QueueError(f"general turns {turns} given with label {label}; only general_assistance has them")
    bots = {i for i, t in enumerate(item.turns) if t["role"] == "assistant"}
    wrong = [t for t in turns if t not in bots]
    if wrong:
        raise QueueError(
            f"general turns {wrong} are not bot turns of {item.conv_id} "
            f"(its bot turns, 0-based: {sorted(bots)})"
        )
    return turns


def _undone(events: Sequence[Event]) -> set[int]:
    return {e.undoes for e in events if e.action == "undo" and e.undoes is not None}


def _undoable(events: Sequence[Event]) -> Event | None:
    undone = _undone(events)
    for ev in reversed(events):
        if ev.action != "undo" and ev.id not in undone:
            return ev
    return None


def _replay(events: Sequence[Event], reviewer: str | None) -> dict[tuple[int, str], Answer]:
    undone = _undone(events)
    out: dict[tuple[int, str], Answer] = {}
    for ev in events:
        if ev.action == "undo" or ev.id in undone or (reviewer is not None and ev.reviewer != reviewer):
            continue
        out[(ev.item_id, ev.reviewer)] = Answer(
            event_id=ev.id, item_id=ev.item_id, reviewer=ev.reviewer, action=ev.action, label=ev.label,
            general_turns=list(ev.general_turns or []), note=ev.note, at=ev.at,
        )  # fmt: skip
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
