"""``openai``: JSONL in the OpenAI chat format, as LLM bots log it (see docs/FORMATS.md).

``{"id": ..., "messages": [{"role": "user", "content": "..."}, ...], "label": ..., "lang": ...,
"meta" | "metadata": {...}}``, one object per line. Message i becomes turn i: nothing is dropped.

- roles ``system``/``user``/``assistant`` keep their name; ``developer`` (the newer name for the system
  prompt) becomes ``system``.
- ``tool``/``function`` messages, and assistant messages that only carry ``tool_calls``, are an error:
  the customer never sees them, and keeping them as system turns would put tool output into every
  rendered window. Remove them (or convert the log to schema v1) before scoring.
- ``content`` is a string or a list of parts; text parts (``text``, ``input_text``, ``output_text``) are
  joined with newlines, any other part becomes a placeholder such as ``[image]``.
- ``id`` is optional; without it the id is ``<file name>:<line>``, stable for the same file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from classifier.readers.base import FileStats, ReadOptions, Record
from classifier.readers.jsonl import json_lines
from classifier.schema import RecordError, parse_conversation

ROLE_MAP = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
TOOL_ROLES = ("tool", "function")
TEXT_PART_TYPES = ("text", "input_text", "output_text")
PART_PLACEHOLDERS = {
    "image_url": "[image]",
    "input_image": "[image]",
    "image": "[image]",
    "input_audio": "[audio]",
    "audio": "[audio]",
    "file": "[file]",
    "input_file": "[file]",
    "refusal": None,  # carries text in "refusal"
}


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        pieces = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise ValueError(f"{where}.content[{j}] must be an object with a 'type', got {part!r:.40}")
            kind = part["type"]
            if kind in TEXT_PART_TYPES or kind == "refusal":
                value = part.get("text" if kind != "refusal" else "refusal")
                if not isinstance(value, str):
                    raise ValueError(
                        f"{where}.content[{j}].{'text' if kind != 'refusal' else 'refusal'} "
                        f"must be a string, got {value!r:.40}"
                    )
                pieces.append(value)
            else:
                pieces.append(PART_PLACEHOLDERS.get(kind) or f"[{kind}]")
        text = "\n".join(pieces)
    elif content is None:
        raise ValueError(f"{where}.content is missing")
    else:
        raise ValueError(f"{where}.content must be a string or a list of parts, got {content!r:.40}")
    if not text.strip():
        raise ValueError(f"{where}.content is empty")
    return text


def _turn(message: Any, i: int) -> dict[str, Any]:
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        raise ValueError(f"{where} must be an object, got {message!r:.40}")
    role = message.get("role")
    if role in TOOL_ROLES or (
        role == "assistant" and message.get("content") is None and message.get("tool_calls")
    ):
        raise ValueError(
            f"{where} is a tool {'call' if role == 'assistant' else 'result'} (role {role!r}): the customer "
            "never sees it; remove tool/function messages and tool-call-only assistant messages first"
        )
    if not isinstance(role, str) or role not in ROLE_MAP:
        raise ValueError(f"{where}.role {role!r:.40} is not one of {', '.join([*ROLE_MAP])}")
    return {"role": ROLE_MAP[role], "text": _content_text(message.get("content"), where)}


def openai_to_record(obj: Any, default_id: str) -> dict[str, Any]:
    """The schema v1 record of one OpenAI-format object; ValueError naming the field otherwise."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    messages = obj.get("messages")
    if not isinstance(messages, list):
        raise ValueError("messages is missing" if messages is None else "messages must be a list")
    meta = obj.get("meta")
    metadata = obj.get("metadata")
    for name, value in (("meta", meta), ("metadata", metadata)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} must be an object, got {value!r:.40}")
    record: dict[str, Any] = {
        "id": obj.get("id", default_id),
        "turns": [_turn(m, i) for i, m in enumerate(messages)],
        "meta": {**(metadata or {}), **(meta or {})},
    }
    for key in ("label", "lang"):
        if key in obj:
            record[key] = obj[key]
    return record


def read_openai(
    path: Path, source: str, options: ReadOptions, stats: FileStats
) -> Iterator[Record | RecordError]:
    for line, value in json_lines(path, source, options):
        if isinstance(value, RecordError):
            yield value
            continue
        default_id = f"{path.name}:{line.number}"
        record_id = value.get("id") if isinstance(value, dict) else None
        try:
            record = openai_to_record(value, default_id)
            conv = parse_conversation(record, source=source, line=line.number, limits=options.limits)
        except RecordError as err:
            yield err
            continue
        except ValueError as exc:
            yield RecordError(
                source, line.number, str(record_id) if record_id is not None else None, str(exc)
            )
            continue
        yield Record(conv, source, line.number)
