"""Assembles the app: ``create_app(settings)``. Run it with ``scopeguard serve`` (docs/SERVING.md).

The lifespan handler creates the heavy resources (model service with its micro-batcher, audit log),
starts loading the model in the background (with several workers: waits for it), reloads on SIGHUP,
and on shutdown finishes the work that is queued (uvicorn first waits for in-flight requests).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from classifier.pseudonym import Pseudonymiser
from serve.audit import AuditLog
from serve.errors import add_error_handlers
from serve.logs import RequestMiddleware, configure_logging
from serve.metrics import Metrics
from serve.routes import admin, classify, health, model
from serve.schemas import BatchRequest, ConversationIn, ReloadRequest, component_schemas
from serve.service import ModelService
from serve.settings import Settings, get_settings

log = logging.getLogger(__name__)

TITLE = "scopeguard"
DESCRIPTION = (
    "Decides, flow by flow, whether a chatbot acted as a general-purpose AI assistant "
    "(`general_assistance`) or gave bounded business support (`business_support`). "
    "Send `Authorization: Bearer <key>`. Errors are `{detail, code, request_id}`."
)


def _version() -> str:
    try:
        return version("scopeguard")
    except PackageNotFoundError:
        return "0+unknown"


def _install_sighup(service: ModelService, tasks: set[asyncio.Task[Any]]) -> bool:
    """Reload on SIGHUP when this is the main thread of the process (not inside a test client)."""
    loop = asyncio.get_running_loop()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading the model" + ("s" if len(service.model_names) > 1 else ""))
        task = loop.create_task(_reload_quietly(service))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    except (ValueError, RuntimeError, NotImplementedError, AttributeError):
        return False
    return True


async def _reload_quietly(service: ModelService) -> None:
    from serve.errors import ApiError

    with suppress(ApiError):  # already logged by the service; the old model keeps serving
        await service.reload()


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        audit = None
        if settings.audit:
            pseudo = Pseudonymiser.from_settings(settings.audit_raw_ids, settings.id_key_file)
            audit = await asyncio.to_thread(AuditLog.open, settings.audit_url, pseudo)
        service = ModelService(settings, app.state.metrics, audit)
        app.state.service = service
        service.start()
        if settings.workers > 1:
            # uvicorn replaces workers one by one on SIGHUP once the new one has started: make "started"
            # mean "model warm", so the swap never sends requests to a worker that is still loading.
            await service.wait_loaded()
        tasks: set[asyncio.Task[Any]] = set()
        sighup = settings.reload_on_sighup and _install_sighup(service, tasks)
        try:
            yield
        finally:
            if sighup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            await service.stop()
            if audit is not None:
                await asyncio.to_thread(audit.close)
            log.info("stopped")

    return lifespan


def _openapi(app: FastAPI) -> Any:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(component_schemas(ConversationIn, BatchRequest, ReloadRequest))
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _provide(settings: Settings) -> Callable[[], Awaitable[Settings]]:
    async def provided_settings() -> Settings:
        return settings

    return provided_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI app serving ``settings`` (default: ``get_settings()``, the environment)."""
    overrides = settings is not None
    settings = settings if settings is not None else get_settings()
    app = FastAPI(title=TITLE, description=DESCRIPTION, version=_version(), lifespan=_lifespan(settings))
    app.state.settings = settings
    app.state.metrics = Metrics(model_names=settings.model_names)
    if overrides:
        # Only for explicit settings (tests): FastAPI re-resolves every dependency of every request
        # while any override is set, so the production app has none.
        app.dependency_overrides[get_settings] = _provide(settings)
    add_error_handlers(app)
    for router_module in (classify, model, admin, health):
        app.include_router(router_module.router)
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics, access_log_enabled=settings.access_log)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory (``serve.main:app_from_environment``): settings from ``SCOPEGUARD_*``, JSON logs."""
    configure_logging(get_settings().log_level)
    return create_app()  # no explicit settings: no dependency override (see create_app)
