"""``GET /v1/model``: what is being served, from the model folder's scopeguard.json and model card files."""

from __future__ import annotations

from fastapi import APIRouter

from serve.auth import ApiKey
from serve.deps import ServiceDep
from serve.routes.responses import error_responses
from serve.schemas import ModelInfo
from serve.service import metrics_summary

router = APIRouter(prefix="/v1", tags=["model"], dependencies=[ApiKey])


@router.get(
    "/model", summary="The model being served", response_model=ModelInfo, responses=error_responses(401, 503)
)
async def model_info(service: ServiceDep) -> ModelInfo:
    """Model id, labels, threshold, calibration, metrics summary (metrics.json) and provenance."""
    model = service.require_ready()
    config = model.classifier.config
    return ModelInfo(
        model_id=config.model_id,
        labels=list(config.labels),
        threshold=config.threshold,
        precision=config.precision,
        calibration=config.calibration.model_dump(),
        base_model=config.base_model.model_dump(),
        created=config.created,
        loaded_at=model.loaded_at.isoformat(timespec="seconds"),
        metrics=metrics_summary(model.metrics),
        provenance=model.provenance,
    )
