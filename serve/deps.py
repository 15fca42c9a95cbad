"""FastAPI dependencies shared by the routes (``Annotated`` aliases).

Dependencies are ``async def`` where they can be: FastAPI runs a plain ``def`` dependency in its thread
pool, a thread hop per request that costs more than the work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serve.metrics import Metrics
from serve.service import ModelService
from serve.settings import Settings, get_settings


async def get_service(request: Request) -> ModelService:
    return request.app.state.service  # created by the lifespan handler


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def log_fields(request: Request, **fields: object) -> None:
    """Add fields (never text) to this request's access-log line."""
    current = getattr(request.state, "log", None) or {}
    request.state.log = {**current, **fields}


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[ModelService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
