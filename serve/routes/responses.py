"""OpenAPI documentation of error responses (all share ``ErrorResponse``)."""

from __future__ import annotations

from typing import Any

from serve.schemas import ErrorResponse

_DESCRIPTIONS = {
    400: "the body is not JSON",
    401: "missing or invalid key (Authorization: Bearer <key>)",
    413: "the body, the batch or a conversation is over the size limits",
    422: "not a schema-v1 conversation, or model names no model the service holds; detail names the field",
    429: "the queue is full; retry after the Retry-After seconds",
    503: "the model is not loaded yet (or failed to load), or the service is stopping",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}
