"""FastAPI dependencies shared by the routes (``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serve.metrics import Metrics
from serve.service import ModelService
from serve.settings import Settings, get_settings


def get_service(request: Request) -> ModelService:
    return request.app.state.service  # created by the lifespan handler


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def log_fields(request: Request, **fields: object) -> None:
    """Add fields (never text) to this request's access-log line."""
    current = getattr(request.state, "log", None) or {}
    request.state.log = {**current, **fields}


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[ModelService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
