"""``whatsapp-txt``: the WhatsApp app's "Export chat" text file (see docs/FORMATS.md).

One file is one conversation, id = file name without ``.txt``/``.gz``. Understood line shapes::

    12/03/2026, 14:05 - Name: message            (Android; also 12.03.26 and 12-03-2026)
    [12/03/2026, 14:05:33] Name: message         (iOS)
    3/12/26, 2:05 p. m. - Name: message          (12-hour clocks: AM/PM, am/pm, a. m./p. m., a.m./p.m.)

A line without a timestamp continues the previous message (multi-line messages). A timestamped line
without ``Name: `` (e.g. "Messages and calls are end-to-end encrypted...") is a system line: not a turn,
counted in the stats as skipped. Media placeholders (``<Media omitted>``, ``<Mídia oculta>``,
``image omitted``) are kept verbatim as the turn text.

Day/month order is decided per file from all its dates: a first number above 12 means dd/mm, a second
number above 12 means mm/dd; if nothing decides, dd/mm is assumed (most of the world). Timestamps are
local times of the exporting phone, without a time zone.

Roles: the business's sender name (``business_sender``, or the ``business_sender`` key of the sidecar
``<file>.meta.json``) is ``assistant``; names listed in the sidecar's ``agent_senders`` are ``agent``
(human agents after a handover); every other sender is ``user``. The name is required: an export does
not say which side is the business. The sidecar may also give ``label``, ``lang`` and ``meta``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from classifier.readers.base import FileStats, ReadOptions, Record, iter_lines, max_line_bytes, strip_gz
from classifier.schema import RecordError, parse_conversation

SIDECAR_SUFFIX = ".meta.json"
MAX_LISTED = 5  # problems listed in one error message; the rest are counted
SIDECAR_KEYS = ("business_sender", "agent_senders", "label", "lang", "meta")

_DATE = r"(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{2,4})"
_TIME = r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp])\.?\s?[Mm]\.?)?"
_ANDROID = re.compile(rf"^{_DATE},?\s+{_TIME}\s+[-–]\s(?P<rest>.*)$")
_IOS = re.compile(rf"^\[{_DATE},?\s+{_TIME}\]\s(?P<rest>.*)$")
_INVISIBLE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile("[\u00a0\u202f\u2007]")
# Notices WhatsApp writes into the chat. iOS attributes them to the chat's name ("Name: Messages and
# calls are..."), so the text, not the missing "Name: ", marks them there.
SYSTEM_NOTICES = re.compile(
    r"^(Messages and calls are end-to-end encrypted|Messages to this (chat|group) and calls are now secured"
    r"|This (business|chat) (uses|is with)|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt"
    r"|As mensagens e (as )?(chamadas|ligações) (são|estão) protegidas"
    r"|Los mensajes y (las )?llamadas están cifrados)",
    re.IGNORECASE,
)


@dataclass
class _Message:
    line: int
    a: int
    b: int
    year: int
    hour: int
    minute: int
    second: int
    sender: str | None  # None: system line
    lines: list[str] = field(default_factory=list)


NOT_A_KNOWN_LAYOUT = (
    "does not start with a date and time: is this a WhatsApp chat export? The layouts scopeguard reads "
    "are Android 'DD/MM/YYYY, HH:MM - Name: text' and iOS '[DD/MM/YY, HH:MM:SS] Name: text' (day, "
    "month, year with / . or -; 12- or 24-hour clock); other layouts, such as '14/03/2026 à 09:12' or "
    "year-first dates '2026/3/14', are not read: export the chat with the phone set to English or "
    "Portuguese, or convert it (docs/FORMATS.md)"
)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def load_sidecar(path: Path, source: str) -> dict[str, Any]:
    """The sidecar's settings, {} when there is none; RecordError when it is unusable."""
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        data = orjson.loads(side.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise RecordError(str(side), None, None, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(str(side), None, None, "expected a JSON object")
    unknown = sorted(set(data) - set(SIDECAR_KEYS))
    if unknown:
        raise RecordError(
            str(side),
            None,
            None,
            f"unknown key(s) {', '.join(unknown)}; expected some of {', '.join(SIDECAR_KEYS)}",
        )
    agents = data.get("agent_senders", [])
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise RecordError(str(side), None, None, "agent_senders must be a list of names")
    if "business_sender" in data and not isinstance(data["business_sender"], str):
        raise RecordError(str(side), None, None, "business_sender must be a string")
    return data


def _parse_header(text: str, number: int) -> _Message | None:
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    match = _IOS.match(text) or _ANDROID.match(text)
    if match is None:
        return None
    hour = int(match["h"])
    if match["ampm"]:
        hour = hour % 12 + (12 if match["ampm"].lower() == "p" else 0)
    year = int(match["y"])
    rest = match["rest"]
    sender, sep, body = rest.partition(": ")
    if not sep and rest.endswith(":"):  # "Name:" followed by a message on the next lines
        sender, sep, body = rest[:-1], ":", ""
    if sep and SYSTEM_NOTICES.match(body):
        sep = ""
    message = _Message(
        number,
        int(match["a"]),
        int(match["b"]),
        year + 2000 if year < 100 else year,
        hour,
        int(match["m"]),
        int(match["s"] or 0),
        sender.strip() if sep else None,
    )
    message.lines.append(body if sep else rest)
    return message


def _day_first(messages: list[_Message], source: str) -> bool:
    day_first = next((m for m in messages if m.a > 12), None)
    month_first = next((m for m in messages if m.b > 12), None)
    if day_first and month_first:
        raise RecordError(
            source,
            month_first.line,
            None,
            f"dates mix day/month orders: line {day_first.line} is dd/mm, line {month_first.line} is mm/dd",
        )
    return month_first is None


def _timestamp(m: _Message, day_first: bool) -> datetime:
    day, month = (m.a, m.b) if day_first else (m.b, m.a)
    return datetime(m.year, month, day, m.hour, m.minute, m.second)


def _roles(senders: list[str], business: str | None, agents: list[str], source: str) -> dict[str, str]:
    names = sorted(set(senders))
    if business is None:
        raise RecordError(
            source,
            None,
            None,
            f"which sender is the business? senders found: {', '.join(names) or 'none'}; pass "
            f'--business-sender NAME or write {{"business_sender": NAME}} to <file>{SIDECAR_SUFFIX}',
        )
    if business not in names:
        raise RecordError(
            source,
            None,
            None,
            f"business sender {business!r} does not occur; senders found: {', '.join(names)}",
        )
    return {n: "assistant" if n == business else "agent" if n in agents else "user" for n in names}


def read_whatsapp_txt(
    path: Path, source: str, options: ReadOptions, stats: FileStats
) -> Iterator[Record | RecordError]:
    conv_id = strip_gz(path.name).removesuffix(".txt")
    try:
        sidecar = load_sidecar(path, source)
    except RecordError as err:
        yield err
        return
    messages: list[_Message] = []
    problems: list[tuple[int, str]] = []
    not_an_export = False
    for line in iter_lines(path, source, max_line_bytes(options.limits)):
        if line.problem is not None:
            problems.append((line.number, line.problem))
        header = _parse_header(line.text, line.number)
        if header is not None:
            messages.append(header)
        elif messages:
            messages[-1].lines.append(line.text)
        elif line.text.strip() and not not_an_export:
            not_an_export = True  # reported once, not for every following line
            problems.append((line.number, NOT_A_KNOWN_LAYOUT))
    turns_src = [m for m in messages if m.sender is not None]
    stats.skip("whatsapp-txt system line", len(messages) - len(turns_src))
    if not messages and not problems:
        yield RecordError(source, None, conv_id, "no messages found: the file is empty")
        return
    try:
        if problems:
            first = problems[0][0]
            raise RecordError(
                source,
                first,
                conv_id,
                "; ".join(p if k == 0 else f"line {n}: {p}" for k, (n, p) in enumerate(problems[:MAX_LISTED]))
                + (f"; and {len(problems) - MAX_LISTED} more line(s)" if len(problems) > MAX_LISTED else ""),
            )
        day_first = _day_first(messages, source)
        business = options.business_sender or sidecar.get("business_sender")
        roles = _roles(
            [m.sender for m in turns_src if m.sender], business, sidecar.get("agent_senders", []), source
        )
        turns = []
        for m in turns_src:
            text = "\n".join(m.lines).strip("\n")
            if not text.strip():
                raise RecordError(source, m.line, conv_id, f"message of {m.sender} has no text")
            try:
                ts = _timestamp(m, day_first)
            except ValueError as exc:  # an impossible date such as 31/02
                raise RecordError(source, m.line, conv_id, f"invalid date or time: {exc}") from None
            turns.append({"role": roles[m.sender or ""], "text": text, "ts": ts})
    except RecordError as err:
        yield RecordError(err.source, err.line, conv_id, err.problem)
        return
    record: dict[str, Any] = {"id": conv_id, "turns": turns, "meta": sidecar.get("meta", {})}
    for key in ("label", "lang"):
        if key in sidecar:
            record[key] = sidecar[key]
    first_line = turns_src[0].line if turns_src else 1
    try:
        conv = parse_conversation(record, source=source, line=first_line, limits=options.limits)
    except RecordError as err:
        yield err
        return
    yield Record(conv, source, first_line)
