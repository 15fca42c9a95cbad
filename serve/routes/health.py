"""``GET /healthz`` (the process answers), ``GET /readyz`` (a warmed-up model serves), ``GET /metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from serve.deps import MetricsDep, ServiceDep
from serve.routes.responses import error_responses
from serve.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness", response_model=Health)
async def healthz() -> Health:
    """200 while the process is alive (also while the model loads)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses=error_responses(503),
)
async def readyz(service: ServiceDep) -> Readiness:
    """200 once every model is loaded and ran a warm-up inference; 503 before, after a failed load and
    while shutting down (so a load balancer stops sending traffic). With a live model, ``models`` names
    both."""
    model = service.require_ready()
    ids = service.model_ids()
    return Readiness(status="ready", model_id=model.model_id, models=ids if len(ids) > 1 else None)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
)
async def metrics(registry: MetricsDep) -> Response:
    """Request counts by status, latency histograms, micro-batch and batch-request sizes, label counts,
    queue depth, readiness and the model id."""
    return Response(registry.render(), media_type=registry.content_type)
