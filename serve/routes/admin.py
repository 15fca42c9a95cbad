"""``POST /v1/admin/reload`` (admin key): load and warm a model, then swap it in without failing requests."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from serve.auth import AdminKey
from serve.deps import ServiceDep
from serve.errors import ApiError
from serve.routes.responses import error_responses
from serve.schemas import ErrorResponse, ReloadRequest, ReloadResponse
from serve.settings import DEFAULT_MODEL, LIVE_MODEL, LIVE_MODEL_ENV_VAR, ModelName

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[AdminKey])


@router.post(
    "/reload",
    summary="Hot-reload the model",
    response_model=ReloadResponse,
    response_model_exclude_none=True,
    responses={
        **error_responses(401, 503),
        422: {
            "model": ErrorResponse,
            "description": "a model folder cannot be loaded (the old models keep serving), or a bad body",
        },
    },
)
async def reload(service: ServiceDep, body: Annotated[ReloadRequest | None, Body()] = None) -> ReloadResponse:
    """Reload the served model folder (or switch to ``model``), and the live model's (or switch to
    ``live_model``); the old models serve until the new ones are warmed up. Same as sending SIGHUP to a
    single-worker server."""
    started = time.perf_counter()
    reloaded = await service.reload(_folders(body, service.model_names))
    live = reloaded.models.get(LIVE_MODEL)
    return ReloadResponse(
        model_id=reloaded.models[DEFAULT_MODEL].model_id,
        previous_model_id=reloaded.previous[DEFAULT_MODEL],
        live_model_id=live.model_id if live is not None else None,
        previous_live_model_id=reloaded.previous.get(LIVE_MODEL),
        seconds=round(time.perf_counter() - started, 3),
    )


def _folders(body: ReloadRequest | None, served: tuple[ModelName, ...]) -> dict[ModelName, str]:
    """The folders a reload body switches to, by model name."""
    if body is None:
        return {}
    if body.live_model is not None and LIVE_MODEL not in served:
        raise ApiError(
            422,
            "unknown_model",
            f"live_model: this service holds no live model to switch (start it with --live-model DIR or "
            f"{LIVE_MODEL_ENV_VAR})",
        )
    folders = {DEFAULT_MODEL: body.model, LIVE_MODEL: body.live_model}
    return {name: folder for name, folder in folders.items() if folder is not None}
