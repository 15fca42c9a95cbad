"""``POST /v1/classify`` and ``POST /v1/classify/batch``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter, Request

from classifier.inference import Prediction
from serve.auth import ApiKey
from serve.conversations import Job, parse_batch, parse_job, read_json_body
from serve.deps import MetricsDep, ServiceDep, SettingsDep, log_fields
from serve.errors import ApiError
from serve.routes.responses import error_responses
from serve.schemas import (
    EXAMPLE_CONVERSATION,
    EXAMPLE_GENERAL,
    BatchItem,
    BatchRequest,
    BatchResponse,
    Classification,
    ClassifyResponse,
    ConversationIn,
    ItemError,
    json_body_doc,
)

router = APIRouter(prefix="/v1", tags=["classify"], dependencies=[ApiKey])


@router.post(
    "/classify",
    summary="Classify one conversation",
    response_model=ClassifyResponse,
    responses=error_responses(400, 401, 413, 422, 429, 503),
    openapi_extra=json_body_doc(
        ConversationIn, {"business": EXAMPLE_CONVERSATION, "general": EXAMPLE_GENERAL}
    ),
)
async def classify(request: Request, service: ServiceDep, settings: SettingsDep) -> ClassifyResponse:
    """Label one schema-v1 conversation: business_support or general_assistance, with the deciding turns.
    ``model`` picks the model that decides (default: the default model)."""
    started = time.perf_counter()
    service.require_ready()
    body = await read_json_body(request, settings.max_body_bytes)
    job = parse_job(body, settings.limits, service.model_names)
    (prediction,) = await service.classify([job], request.state.request_id)
    log_fields(request, label=prediction.label, score=round(prediction.score, 4), model=prediction.model)
    return ClassifyResponse(**Classification.of(prediction).model_dump(), latency_ms=_ms(started))


@router.post(
    "/classify/batch",
    summary="Classify several conversations",
    response_model=BatchResponse,
    responses=error_responses(400, 401, 413, 422, 429, 503),
    openapi_extra=json_body_doc(
        BatchRequest, {"batch": {"conversations": [EXAMPLE_CONVERSATION, EXAMPLE_GENERAL]}}
    ),
)
async def classify_batch(
    request: Request, service: ServiceDep, settings: SettingsDep, metrics: MetricsDep
) -> BatchResponse:
    """Results in request order; an invalid or oversized item, or one whose ``model`` the service does not
    hold, gets its own error, the others are classified (each by the model it names)."""
    started = time.perf_counter()
    service.require_ready()
    body = await read_json_body(request, settings.max_body_bytes)
    parsed = parse_batch(body, settings.limits, settings.max_batch_items, service.model_names)
    metrics.batch_request_items.observe(len(parsed.items))
    predictions = iter(await service.classify(parsed.jobs, request.state.request_id))
    results = [_batch_item(i, item, predictions) for i, item in enumerate(parsed.items)]
    labels = Counter(r.result.label for r in results if r.result is not None)
    log_fields(request, items=len(results), labels=dict(labels))
    classified = sum(labels.values())
    return BatchResponse(
        results=results, classified=classified, failed=len(results) - classified, latency_ms=_ms(started)
    )


def _batch_item(index: int, item: Job | ApiError, predictions: Iterator[Prediction]) -> BatchItem:
    if isinstance(item, ApiError):
        return BatchItem(
            index=index, ok=False, error=ItemError(status=item.status, code=item.code, detail=item.detail)
        )
    return BatchItem(index=index, ok=True, result=Classification.of(next(predictions)))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
