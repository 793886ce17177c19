"""The FastAPI application: ``create_app(settings)`` builds one gateway and wires routes to it.

Middleware is pure ASGI (body-size limit, HTTP metrics): Starlette's ``BaseHTTPMiddleware`` costs
a task per request and breaks streaming back-pressure, and the overhead budget is a few ms.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from hanstack.server.errors import install_error_handlers
from hanstack.server.limits import BodySizeLimit
from hanstack.server.metrics import HttpMetrics
from hanstack.server.routes import admin, documents, hanstack_api, openai_api
from hanstack.server.state import Gateway, build_gateway

if TYPE_CHECKING:
    from hanstack.config import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, *, gateway: Gateway | None = None, **gateway_options: Any) -> FastAPI:
    """The app for ``settings``. Egress is checked here, so a forbidden endpoint fails fast."""
    gw = gateway if gateway is not None else build_gateway(settings, **gateway_options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm = getattr(gw.pipeline.guard, "warm", None)
        if warm is not None:
            import anyio

            await anyio.to_thread.run_sync(warm)
        log.info("gateway started", extra={"home": str(settings.home), "audit": gw.audit is not None})
        yield
        await gw.backends.aclose()
        gw.close()

    app = FastAPI(
        title="hanstack gateway",
        version="0.1.0",
        description="OpenAI-compatible and hanstack routes with tenants, guardrails and a tamper-evident audit log.",
        lifespan=lifespan,
    )
    app.state.gateway = gw
    install_error_handlers(app)
    for router in (openai_api.router, hanstack_api.router, documents.router, admin.router):
        app.include_router(router)
    app.mount("/console", StaticFiles(directory=STATIC, html=True), name="console")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    app.add_middleware(HttpMetrics, metrics=gw.metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.server.max_body_bytes)
    return app
