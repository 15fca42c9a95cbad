"""``GET /v1/model``: what is being served, from the model folder's scopeguard.json and model card files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serve.auth import ApiKey
from serve.deps import ServiceDep
from serve.routes.responses import error_responses
from serve.schemas import ErrorResponse, ModelInfo
from serve.service import metrics_summary
from serve.settings import DEFAULT_MODEL, MODEL_NAMES

router = APIRouter(prefix="/v1", tags=["model"], dependencies=[ApiKey])


@router.get(
    "/model",
    summary="The model being served",
    response_model=ModelInfo,
    responses={
        **error_responses(401, 503),
        422: {"model": ErrorResponse, "description": "model names no model the service holds"},
    },
)
async def model_info(
    service: ServiceDep,
    model_name: Annotated[
        str,
        Query(
            alias="model",
            description="which model: default, or live (on a service holding a live model)",
            json_schema_extra={"enum": list(MODEL_NAMES)},
        ),
    ] = DEFAULT_MODEL,
) -> ModelInfo:
    """Model id, labels, threshold, calibration, metrics summary (metrics.json) and provenance."""
    # A plain string, checked by the service, so a name it does not hold gets 422 unknown_model as in
    # POST /v1/classify.
    model = service.require_ready(model_name)
    config = model.classifier.config
    return ModelInfo(
        model_id=config.model_id,
        labels=list(config.labels),
        threshold=config.threshold,
        precision=config.precision,
        compute=model.classifier.compute,
        calibration=config.calibration.model_dump(),
        base_model=config.base_model.model_dump(),
        created=config.created,
        loaded_at=model.loaded_at.isoformat(timespec="seconds"),
        metrics=metrics_summary(model.metrics),
        provenance=model.provenance,
    )
