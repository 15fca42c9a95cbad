"""``wa-cloud``: JSONL of WhatsApp Cloud API records (see docs/FORMATS.md).

Each line is one of:

- an inbound webhook notification (``{"object": "whatsapp_business_account", "entry": [{"changes":
  [{"value": {"messages": [...], "statuses": [...]}}]}]}``): every message is a ``user`` turn of
  customer ``from``; ``statuses`` (sent/delivered/read receipts) are not messages and are counted in the
  stats as skipped, as are repeated deliveries of a message id already seen (webhooks retry);
- an outbound send request the business logged (``{"messaging_product": "whatsapp", "to": wa_id,
  "type": "text", "text": {"body": ...}, "timestamp": ...}``): an ``assistant`` turn. The send request
  carries no time of its own, so the logger must add ``timestamp`` (Unix seconds or ISO 8601); a
  request without it is an error.

Non-text messages become placeholders and never vanish: ``[image]`` (plus the caption), ``[audio]``,
``[sticker]``, ``[location] name, address``, ``[reaction 👍]``, ``[template name]``...; interactive
replies (buttons, list rows) become their title text.

Turns are merged per customer ``wa_id`` in timestamp order (file order breaks ties) and cut into
conversations by the customer-service window: a gap longer than ``window_hours`` (default 24) starts a
new conversation. The id is ``<wa_id>:<Unix timestamp of its first message>`` and its line is the line
of that first message. Because a customer's messages may be anywhere in the file, this reader keeps
every message of the file in memory until the file ends: memory grows with the file (split large
archives into files per day or per customer range). If the file breaks (truncated gzip), the open
conversations are not emitted, since they may be incomplete; the error says how many messages that was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classifier.readers.base import FileStats, ReadOptions, Record, StreamBroken
from classifier.readers.jsonl import json_lines
from classifier.schema import RecordError, parse_conversation

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")


@dataclass(frozen=True)
class _Message:
    wa_id: str
    ts: int
    line: int
    role: str
    text: str
    message_id: str | None


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _get(obj: Any, key: str, where: str, kind: type | tuple[type, ...] = dict) -> Any:
    """obj[key], which must exist and be of ``kind``; ValueError naming the field otherwise."""
    field = f"{where}.{key}" if where else key
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"{field} is missing")
    value = obj[key]
    if not isinstance(value, kind):
        expected = (
            _KIND_NAMES.get(kind, "a string or number") if isinstance(kind, type) else "a string or number"
        )
        raise ValueError(f"{field} must be {expected}, got {value!r:.40}")
    return value


def _part(msg: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional nested object of a message, {} when absent (placeholders need no payload)."""
    value = msg.get(key)
    return value if isinstance(value, dict) else {}


MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def parse_timestamp(value: Any, where: str) -> int:
    """Unix seconds from the API's string/number form or an ISO 8601 string."""
    seconds: int | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = int(value) if value == value and abs(value) != float("inf") else None
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            seconds = int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    if seconds is None or not 0 <= seconds <= MAX_TIMESTAMP:
        raise ValueError(f"{where} {value!r:.40} is not a Unix timestamp or ISO 8601 time")
    return seconds


def message_text(msg: dict[str, Any], where: str) -> str:
    """The turn text of one Cloud API message object (inbound or outbound)."""
    kind = _get(msg, "type", where, str)
    if kind == "text":
        body = _get(_get(msg, "text", where), "body", f"{where}.text", str)
        if not body.strip():
            raise ValueError(f"{where + '.' if where else ''}text.body is empty")
        return body
    if kind in MEDIA_TYPES:
        media = _part(msg, kind)
        caption = media.get("caption") or media.get("filename") or ""
        return f"[{kind}] {caption}".strip()
    if kind == "interactive":
        inter = _get(msg, "interactive", where)
        for reply in ("button_reply", "list_reply"):
            if isinstance(inter.get(reply), dict):
                return str(_get(inter[reply], "title", f"{where}.interactive.{reply}", str))
        body = _part(inter, "body").get("text")
        if isinstance(body, str) and body.strip():  # an outbound interactive message: its body text
            return body
        return f"[interactive {inter.get('type', '')}]".replace(" ]", "]")
    if kind == "button":
        return str(_get(_get(msg, "button", where), "text", f"{where}.button", str))
    if kind == "reaction":
        return f"[reaction {_part(msg, 'reaction').get('emoji', '')}]".replace(" ]", "]")
    if kind == "location":
        loc = _part(msg, "location")
        place = ", ".join(str(loc[k]) for k in ("name", "address") if loc.get(k))
        return f"[location] {place}".strip()
    if kind == "template":
        return f"[template {_part(msg, 'template').get('name', '')}]".replace(" ]", "]")
    if kind == "system":
        return f"[system] {_part(msg, 'system').get('body', '')}".strip()
    return f"[{kind}]"


def _optional_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}.{key} must be a list, got {value!r:.40}")
    return value


def _message_id(msg: dict[str, Any], where: str) -> str | None:
    value = msg.get("id")
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where + '.' if where else ''}id must be a string, got {value!r:.40}")
    return value


def _inbound(obj: dict[str, Any], line: int, stats: FileStats) -> list[_Message]:
    found = []
    statuses = error_notes = 0
    for e, entry in enumerate(_get(obj, "entry", "", list)):
        for c, change in enumerate(_get(entry, "changes", f"entry[{e}]", list)):
            where = f"entry[{e}].changes[{c}].value"
            value = _get(change, "value", f"entry[{e}].changes[{c}]")
            messages = _optional_list(value, "messages", where)
            status_list = _optional_list(value, "statuses", where)
            statuses += len(status_list)
            for i, msg in enumerate(messages):
                at = f"{where}.messages[{i}]"
                if not isinstance(msg, dict):
                    raise ValueError(f"{at} must be an object, got {msg!r:.40}")
                wa_id = str(_get(msg, "from", at, (str, int)))
                ts = parse_timestamp(_get(msg, "timestamp", at, (str, int, float)), f"{at}.timestamp")
                text = message_text(msg, at)
                found.append(_Message(wa_id, ts, line, "user", text, _message_id(msg, at)))
            if not messages and not status_list:
                if not value.get("errors"):
                    raise ValueError(f"{where} has neither messages nor statuses")
                error_notes += 1
    stats.skip("wa-cloud status notification", statuses)
    stats.skip("wa-cloud error notification", error_notes)
    return found


def _outbound(obj: dict[str, Any], line: int) -> _Message:
    wa_id = str(_get(obj, "to", "", (str, int)))
    if "timestamp" not in obj:
        raise ValueError(
            "timestamp is missing: a logged send request needs the time it was sent "
            '(add "timestamp": Unix seconds or ISO 8601 when logging)'
        )
    ts = parse_timestamp(obj["timestamp"], "timestamp")
    return _Message(wa_id, ts, line, "assistant", message_text(obj, ""), _message_id(obj, ""))


def parse_record(obj: Any, line: int, stats: FileStats) -> list[_Message]:
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "entry" in obj or obj.get("object") == "whatsapp_business_account":
        return _inbound(obj, line, stats)
    if obj.get("messaging_product") == "whatsapp" and "to" in obj:
        return [_outbound(obj, line)]
    raise ValueError(
        "neither a webhook notification (object/entry) nor a logged send request "
        "(messaging_product 'whatsapp' with 'to')"
    )


def _conversations(messages: list[_Message], window_seconds: float) -> Iterator[list[_Message]]:
    by_customer: dict[str, list[_Message]] = {}
    for m in messages:
        by_customer.setdefault(m.wa_id, []).append(m)
    for wa_id in sorted(by_customer):
        ordered = sorted(by_customer[wa_id], key=lambda m: (m.ts, m.line))
        current = [ordered[0]]
        for m in ordered[1:]:
            if m.ts - current[-1].ts > window_seconds:
                yield current
                current = []
            current.append(m)
        yield current


def read_wa_cloud(
    path: Path, source: str, options: ReadOptions, stats: FileStats
) -> Iterator[Record | RecordError]:
    messages: list[_Message] = []
    seen_ids: set[str] = set()
    try:
        for line, value in json_lines(path, source, options):
            if isinstance(value, RecordError):
                yield value
                continue
            try:
                found = parse_record(value, line.number, stats)
            except ValueError as exc:
                yield RecordError(source, line.number, None, str(exc))
                continue
            for m in found:
                if m.message_id and m.message_id in seen_ids:
                    stats.skip("wa-cloud repeated delivery")
                    continue
                if m.message_id:
                    seen_ids.add(m.message_id)
                messages.append(m)
    except StreamBroken as err:
        note = f"; {len(messages)} message(s) read before it were not emitted" if messages else ""
        raise StreamBroken(err.source, err.line, None, err.problem + note) from None
    for group in _conversations(messages, options.window_hours * 3600):
        first = group[0]
        record = {
            "id": f"{first.wa_id}:{first.ts}",
            "turns": [
                {"role": m.role, "text": m.text, "ts": datetime.fromtimestamp(m.ts, UTC)} for m in group
            ],
            "meta": {"wa_id": first.wa_id, "channel": "whatsapp"},
        }
        try:
            conv = parse_conversation(record, source=source, line=first.line, limits=options.limits)
        except RecordError as err:
            yield err
            continue
        yield Record(conv, source, first.line)
