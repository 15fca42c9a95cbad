"""One JSON shape for every error: ``{"detail": "<what went wrong>", "code": "<stable code>", "request_id"}``.

Library code raises its own exceptions (RecordError, FileNotFoundError, ...); the service turns them into
``ApiError`` at the boundary, and the handlers here turn ``ApiError`` and framework errors into responses.
``code`` values are stable and documented in docs/SERVING.md; ``detail`` is for people.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve.schemas import ErrorResponse

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "queue_full",
    500: "internal_error",
    503: "not_ready",
}


class ApiError(Exception):
    """An HTTP error with a stable ``code`` and a message for people."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    status: int, code: str, detail: str, request_id: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(detail=detail, code=code, request_id=request_id)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    request.state.log = {**(getattr(request.state, "log", None) or {}), "error": exc.code}
    return error_response(exc.status, exc.code, exc.detail, request_id_of(request), exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, detail, request_id_of(request), headers)


def _location(loc: tuple[Any, ...]) -> str:
    if loc and loc[0] in ("body", "query", "header", "path", "cookie"):  # where, not which field
        loc = loc[1:]
    return ".".join(str(part) for part in loc) or "request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return error_response(
            400, "invalid_json", "the request body is not valid JSON", request_id_of(request)
        )
    # Never echo the offending input: it may be transcript text.
    problems = "; ".join(f"{_location(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
    return error_response(422, "invalid_request", problems, request_id_of(request))


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
