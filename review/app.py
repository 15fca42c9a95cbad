"""The review page: FastAPI assembling the JSON API (``review.routes``) and the static page (package data).

``create_app(settings)`` opens the queue in the lifespan (a file that is not a queue fails before the
server listens); ``serve(settings)`` takes the one-server-per-queue lock (``review.lock``), then runs
uvicorn. No CDN, no external request: the page is ``review/static/`` and works offline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from review.lock import ServerLock
from review.queue import ReviewQueue
from review.routes import router
from review.settings import ReviewSettings

STATIC = Path(str(files("review") / "static"))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: ReviewSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.queue = ReviewQueue.open(settings.queue)
        try:
            yield
        finally:
            app.state.queue.close()

    app = FastAPI(title="scopeguard review", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    return app


def serve(settings: ReviewSettings, announce: Callable[[str], None] = lambda _: None) -> None:
    """Check the queue, take the server lock, run the page until stopped."""
    import uvicorn

    ReviewQueue.open(settings.queue).close()  # a bad queue is a clear error before anything listens
    url = f"http://{settings.host}:{settings.port}/"
    with ServerLock(settings.queue).acquire(url):
        announce(url)
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                    server_header=False)  # fmt: skip
