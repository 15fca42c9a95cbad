"""``POST /v1/admin/reload`` (admin key): load and warm a model, then swap it in without failing requests."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from serve.auth import AdminKey
from serve.deps import ServiceDep
from serve.routes.responses import error_responses
from serve.schemas import ErrorResponse, ReloadRequest, ReloadResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[AdminKey])


@router.post(
    "/reload",
    summary="Hot-reload the model",
    response_model=ReloadResponse,
    responses={
        **error_responses(401, 503),
        422: {
            "model": ErrorResponse,
            "description": "the model folder cannot be loaded (the old model keeps serving), or a bad body",
        },
    },
)
async def reload(service: ServiceDep, body: Annotated[ReloadRequest | None, Body()] = None) -> ReloadResponse:
    """Reload the served model folder (or switch to ``model``); the old model serves until the new one
    is warmed up. Same as sending SIGHUP to a single-worker server."""
    started = time.perf_counter()
    model, previous = await service.reload(body.model if body is not None else None)
    return ReloadResponse(
        model_id=model.model_id, previous_model_id=previous, seconds=round(time.perf_counter() - started, 3)
    )
