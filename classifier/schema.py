"""Transcript schema v1: the contract every part of scopeguard shares.

One conversation per JSON object::

    {"id": "conv-0001",
     "turns": [{"role": "user", "text": "hi, where is my order 4411?", "ts": "2026-03-02T10:15:00Z"},
               {"role": "assistant", "text": "Let me check..."}],
     "label": "business_support",
     "lang": "en",
     "meta": {"channel": "whatsapp", "business": "online fashion shop"}}

Validation errors name the record and the field, e.g.
``data.jsonl line 17 (id conv-9): turns[2].role 'bot' is not one of user, assistant, agent, system``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = "1"

Role = Literal["user", "assistant", "agent", "system"]
ROLES: tuple[str, ...] = get_args(Role)
# The roles whose turns the model scores (a human agent's or the configuration's never are).
ScoredRole = Literal["user", "assistant"]
SCORED_ROLES: tuple[str, ...] = get_args(ScoredRole)

Label = Literal["business_support", "general_assistance"]
LABELS: tuple[str, ...] = get_args(Label)
POSITIVE_LABEL = "general_assistance"
NEGATIVE_LABEL = "business_support"


MAX_PROFILE_CHARS = 8_000
MAX_PROFILE_NAME_CHARS = 200
PROFILE_META_KEY = "business"  # meta.business: a record's own business profile (classifier.profile)


class BusinessProfile(BaseModel):
    """Who the business is, what it sells or does, and what its bot is for (a few sentences)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_PROFILE_NAME_CHARS)
    description: str = Field(max_length=MAX_PROFILE_CHARS)

    @field_validator("name", "description")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: describe the business and what its bot is for")
        return value

    @property
    def text(self) -> str:
        """What the model reads: the name, then the description (the name is not repeated)."""
        if self.name and self.name.strip().casefold() not in self.description.casefold():
            return f"{self.name.strip()}. {self.description.strip()}"
        return self.description.strip()


class Limits(BaseModel):
    """Size limits a conversation must respect; exceeding one is a record error, never a crash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_turns: int = Field(200, gt=0)
    max_turn_chars: int = Field(20_000, gt=0)
    max_conversation_chars: int = Field(200_000, gt=0)
    max_id_chars: int = Field(256, gt=0)


DEFAULT_LIMITS = Limits()


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    role: Role
    text: str
    ts: datetime | None = None

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    turns: list[Turn]
    label: Label | None = None
    lang: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id is empty")
        return value

    @field_validator("turns")
    @classmethod
    def _at_least_one_turn(cls, value: list[Turn]) -> list[Turn]:
        if not value:
            raise ValueError("turns is empty: a conversation needs at least one turn")
        return value

    @property
    def has_bot_reply(self) -> bool:
        return any(t.role == "assistant" for t in self.turns)

    def to_record(self) -> dict[str, Any]:
        """The JSON object of schema v1 (timestamps as ISO 8601 strings, empty fields omitted)."""
        record: dict[str, Any] = {"id": self.id, "turns": []}
        for turn in self.turns:
            item: dict[str, Any] = {"role": turn.role, "text": turn.text}
            if turn.ts is not None:
                item["ts"] = turn.ts.isoformat().replace("+00:00", "Z")
            record["turns"].append(item)
        if self.label is not None:
            record["label"] = self.label
        if self.lang is not None:
            record["lang"] = self.lang
        if self.meta:
            record["meta"] = self.meta
        return record


class RecordError(ValueError):
    """A record that cannot be used, located by source, line and id."""

    def __init__(self, source: str, line: int | None, record_id: str | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.record_id = record_id
        self.problem = problem
        super().__init__(self.describe())

    @property
    def location(self) -> str:
        where = str(self.source)
        if self.line is not None:
            where += f" line {self.line}"
        if self.record_id is not None:
            where += f" (id {self.record_id})"
        return where

    def describe(self) -> str:
        return f"{self.location}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "id": self.record_id, "error": self.problem}


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_error(err: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence a person reads without knowing pydantic."""
    path = _loc_to_path(tuple(err["loc"])) or "record"
    kind = err["type"]
    value = err.get("input")
    if kind == "literal_error":
        if path.endswith("role"):
            allowed = ", ".join(ROLES)
        elif path == "label":
            allowed = ", ".join(LABELS)
        else:
            allowed = err.get("ctx", {}).get("expected", "")
        return f"{path} {_short(value)} is not one of {allowed}"
    if kind == "missing":
        return f"{path} is missing"
    if kind in ("string_type", "list_type", "dict_type", "model_type", "model_attributes_type"):
        expected = {
            "string_type": "a string",
            "list_type": "a list",
            "dict_type": "an object",
            "model_type": "an object",
            "model_attributes_type": "an object",
        }[kind]
        return f"{path} must be {expected}, got {_short(value)}"
    if kind.startswith("datetime") or kind.startswith("date"):
        return f"{path} {_short(value)} is not an ISO 8601 timestamp"
    if kind == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
        field = path.rsplit(".", 1)[-1]
        if message.startswith(field.split("[")[0]):  # "text is empty" -> "turns[0].text is empty"
            return path[: len(path) - len(field)] + message
        return f"{path}: {message}"
    return f"{path}: {err['msg']}"


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic ValidationError as one line naming each field and problem (for readers that
    validate parts of a record, e.g. one CSV row, themselves)."""
    return "; ".join(_describe_error(e) for e in exc.errors(include_url=False))


def check_limits(conv: Conversation, limits: Limits) -> list[str]:
    """Problems with the size of a valid conversation (empty list when within limits)."""
    problems = []
    if len(conv.id) > limits.max_id_chars:
        problems.append(f"id has {len(conv.id)} characters, over the limit of {limits.max_id_chars}")
    if len(conv.turns) > limits.max_turns:
        problems.append(f"turns has {len(conv.turns)} turns, over the limit of {limits.max_turns}")
    total = 0
    for i, turn in enumerate(conv.turns):
        total += len(turn.text)
        if len(turn.text) > limits.max_turn_chars:
            problems.append(
                f"turns[{i}].text has {len(turn.text)} characters, over the limit of {limits.max_turn_chars}"
            )
    if total > limits.max_conversation_chars:
        problems.append(
            f"conversation has {total} characters, over the limit of {limits.max_conversation_chars}"
        )
    return problems


def record_profile(conv: Conversation) -> BusinessProfile | None:
    """The record's own business profile in ``meta.business`` (a text or {name, description}), if any;
    ValueError (pydantic's) when it is unusable (``check_meta_profile`` says why, per field)."""
    value = conv.meta.get(PROFILE_META_KEY)
    if value is None:
        return None
    return BusinessProfile.model_validate({"description": value} if isinstance(value, str) else value)


def check_meta_profile(conv: Conversation) -> list[str]:
    """Problems with ``meta.business``, the record's business profile (empty when absent or usable)."""
    value = conv.meta.get(PROFILE_META_KEY)
    if value is None:
        return []
    where = f"meta.{PROFILE_META_KEY}"
    if isinstance(value, str):
        value = {"description": value}
    if not isinstance(value, dict):
        return [f"{where} must be a text or an object with name and description, got {_short(value)}"]
    try:
        BusinessProfile.model_validate(value)
    except ValidationError as exc:
        return [f"{where}.{_describe_error(e)}" for e in exc.errors(include_url=False)]
    return []


def parse_conversation(
    obj: Any,
    *,
    source: str = "<input>",
    line: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Conversation:
    """Validate one decoded JSON object as a schema v1 conversation.

    Raises RecordError naming source, line, id and every problem found.
    """
    record_id = None
    if isinstance(obj, dict) and isinstance(obj.get("id"), str | int):
        record_id = str(obj["id"])
    if not isinstance(obj, dict):
        raise RecordError(source, line, None, f"expected a JSON object, got {type(obj).__name__}")
    try:
        conv = Conversation.model_validate(obj)
    except ValidationError as exc:
        raise RecordError(source, line, record_id, describe_validation_error(exc)) from None
    problems_list = check_limits(conv, limits) + check_meta_profile(conv)
    if problems_list:
        raise RecordError(source, line, record_id, "; ".join(problems_list))
    return conv
