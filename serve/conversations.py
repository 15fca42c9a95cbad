"""Request bodies -> validated conversations, with the schema's own messages (``scopeguard validate``'s).

400 for a body that is not JSON, 422 for JSON that is not a schema-v1 conversation (naming the field) or
whose ``model`` field names no model the service holds, 413 for a body or a conversation over the size
limits.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from classifier.profile import ProfileError, has_own_profile, parse_profile
from classifier.schema import (
    PROFILE_META_KEY,
    Conversation,
    Limits,
    RecordError,
    check_limits,
    parse_conversation,
)
from serve.errors import ApiError
from serve.settings import DEFAULT_MODEL, LIVE_MODEL, LIVE_MODEL_ENV_VAR, MODEL_NAMES, ModelName

REQUEST_SOURCE = "request"
BUSINESS_FIELD = "business"  # a request's business profile (docs/PROFILES.md); not part of schema v1
MODEL_FIELD = "model"  # which of the service's models decides (serve.settings.ModelName); not schema v1
# Validation first with no size limits, so a valid but oversized conversation is told apart (413, not 422).
_UNBOUNDED = Limits(
    max_turns=sys.maxsize,
    max_turn_chars=sys.maxsize,
    max_conversation_chars=sys.maxsize,
    max_id_chars=sys.maxsize,
)


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """The decoded JSON body; ApiError 413 past ``max_bytes`` (checked while reading), 400 if not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _body_too_large(int(declared), max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _body_too_large(size, max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(
            400,
            "invalid_json",
            "the request body is empty: send a JSON object (Content-Type: application/json)",
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None


def _body_too_large(size: int, max_bytes: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"the request body has {size}+ bytes, over the limit of {max_bytes} "
        "(SCOPEGUARD_MAX_BODY_BYTES): send fewer or smaller conversations",
    )


def parse_request_conversation(obj: Any, limits: Limits, *, source: str = REQUEST_SOURCE) -> Conversation:
    """One schema-v1 conversation (its ``label`` ignored) with the request's ``business`` profile applied;
    ApiError 422 if invalid, 413 if over ``limits``."""
    business = None
    if isinstance(obj, dict) and ("label" in obj or BUSINESS_FIELD in obj):
        business = obj.get(BUSINESS_FIELD)
        obj = {key: value for key, value in obj.items() if key not in ("label", BUSINESS_FIELD)}
    try:
        conv = parse_conversation(obj, source=source, limits=_UNBOUNDED)
    except RecordError as exc:
        raise ApiError(422, "invalid_conversation", exc.describe()) from None
    if business is not None:
        conv = _with_business(conv, business, source)
    problems = check_limits(conv, limits)
    if problems:
        raise ApiError(
            413, "conversation_too_large", RecordError(source, None, conv.id, "; ".join(problems)).describe()
        )
    return conv


def _with_business(conv: Conversation, business: Any, source: str) -> Conversation:
    """``conv`` judged under the request's profile: it becomes the record's ``meta.business`` unless the
    conversation brings its own (a system turn or meta.business), which comes first (docs/PROFILES.md)."""
    try:
        profile = parse_profile(business, BUSINESS_FIELD)
    except ProfileError as exc:
        problem = RecordError(source, None, conv.id, str(exc)).describe()
        raise ApiError(422, "invalid_business", problem) from None
    if has_own_profile(conv):
        return conv
    meta = {**conv.meta, PROFILE_META_KEY: profile.model_dump(exclude_none=True)}
    return conv.model_copy(update={"meta": meta})


@dataclass(frozen=True)
class Job:
    """A conversation to classify and the model its request picked."""

    conv: Conversation
    model: ModelName = DEFAULT_MODEL


def parse_job(
    obj: Any, limits: Limits, served: Collection[ModelName], *, source: str = REQUEST_SOURCE
) -> Job:
    """``parse_request_conversation`` plus the request's ``model`` (default: the default model); ApiError
    422 ``unknown_model`` when it names no model in ``served``."""
    conv = parse_request_conversation(obj, limits, source=source)
    name = obj.get(MODEL_FIELD) if isinstance(obj, dict) else None
    if name is None:
        return Job(conv)
    if name not in served:
        error = unknown_model(name, served)
        raise ApiError(error.status, error.code, RecordError(source, None, conv.id, error.detail).describe())
    return Job(conv, name)


def unknown_model(name: object, served: Collection[ModelName]) -> ApiError:
    """The 422 for a ``model`` field that names no model this service holds, saying what would."""
    if name == LIVE_MODEL:
        problem = (
            f"{MODEL_FIELD} 'live': this service holds no live model (start it with --live-model DIR or "
            f"{LIVE_MODEL_ENV_VAR}); leave {MODEL_FIELD} out for the default model"
        )
    else:
        shown = repr(name) if isinstance(name, str) else f"{name!r} ({type(name).__name__})"
        problem = f"{MODEL_FIELD} {shown} is not one of {', '.join(n for n in MODEL_NAMES if n in served)}"
    return ApiError(422, "unknown_model", problem)


@dataclass(frozen=True)
class BatchItems:
    """Items of a batch request: a conversation with its model, or the error that item alone would have
    got."""

    items: list[Job | ApiError]

    @property
    def jobs(self) -> list[Job]:
        return [item for item in self.items if isinstance(item, Job)]


def parse_batch(
    obj: Any, limits: Limits, max_items: int, served: Collection[ModelName] = (DEFAULT_MODEL,)
) -> BatchItems:
    """``{"conversations": [...]}`` -> per-item results; ApiError for a body that is not such an object."""
    if not isinstance(obj, dict) or not isinstance(obj.get("conversations"), list):
        found = type(obj).__name__ if not isinstance(obj, dict) else "an object without a conversations list"
        raise ApiError(
            422, "invalid_request", f'expected a JSON object {{"conversations": [...]}}, got {found}'
        )
    raw = obj["conversations"]
    if len(raw) > max_items:
        raise ApiError(
            413,
            "batch_too_large",
            f"conversations has {len(raw)} items, over the limit of {max_items} "
            "(SCOPEGUARD_MAX_BATCH_ITEMS): split the batch",
        )
    items: list[Job | ApiError] = []
    for index, value in enumerate(raw):
        try:
            items.append(parse_job(value, limits, served, source=f"conversations[{index}]"))
        except ApiError as exc:
            items.append(exc)
    return BatchItems(items)
