"""create_app: the FastAPI application over any read model, publisher and broadcast log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from infra.settings import Settings
from salespulse.api import (
    routes_broadcasts,
    routes_events,
    routes_exports,
    routes_goals,
    routes_ops,
    routes_people,
    routes_reports,
    routes_targets,
    routes_versions,
)
from salespulse.api.auth import TokenBook
from salespulse.api.deps import ApiContext
from salespulse.api.errors import http_error, validation_error
from salespulse.api.openapi import describe_errors
from salespulse.api.ops import NotifyStatusSource, OpsSource, RequestMetrics
from salespulse.api.readside import (
    BroadcastSource,
    PublisherFactory,
    ReadModelFactory,
    utc_now,
)
from salespulse.api.request_guard import guard_requests
from salespulse.api.sse import ChangeHub
from salespulse.api.versions import CandidateSource

log = logging.getLogger(__name__)

# A background task of the app (e.g. the PostgreSQL listener feeding the hub), run while the
# app serves and cancelled at shutdown.
BackgroundTask = Callable[[ChangeHub], Coroutine[Any, Any, None]]


def create_app(
    settings: Settings,
    read_model_factory: ReadModelFactory,
    publisher_factory: PublisherFactory,
    *,
    broadcasts: BroadcastSource,
    tokens: TokenBook | None = None,
    ops: OpsSource | None = None,
    notify_status: NotifyStatusSource | None = None,
    hub: ChangeHub | None = None,
    clock: Callable[[], datetime] = utc_now,
    background: Sequence[BackgroundTask] = (),
    on_shutdown: Sequence[Callable[[], None]] = (),
    keepalive_s: float = 15.0,
    min_refresh_s: float = 1.0,
    health: Callable[[], dict[str, str]] | None = None,
    candidates: CandidateSource | None = None,
) -> FastAPI:
    """The API: `tokens=None` is open local mode (the caller must bind to loopback)."""
    ctx = ApiContext(
        settings=settings,
        read_side=read_model_factory,
        publisher_factory=publisher_factory,
        broadcasts=broadcasts,
        tokens=tokens,
        ops=ops,
        notify_status=notify_status,
        hub=hub or ChangeHub(),
        metrics=RequestMetrics(),
        clock=clock,
        keepalive_s=keepalive_s,
        min_refresh_s=min_refresh_s,
        health=health,
        candidates=candidates,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(task(ctx.hub)) for task in background]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            ctx.close()
            for close in on_shutdown:
                close()

    app = FastAPI(
        title="SalesPulse",
        version="1",
        description="Live sales performance: goals, leaderboards, funnels, broadcasts. "
        "All amounts are decimal strings. Errors: "
        '{"detail": {"parameter": ..., "error": ...}}.',
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

    app.middleware("http")(guard_requests(open_mode=tokens is None))

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route template, not the path: /api/reps/{rep_id}/daily is one series, not one
        # per rep.
        template = getattr(route, "path", "unmatched")
        ctx.metrics.observe(
            request.method, template, response.status_code, time.perf_counter() - started
        )
        return response

    for module in (
        routes_events,
        routes_exports,
        routes_goals,
        routes_targets,
        routes_reports,
        routes_broadcasts,
        routes_ops,
        routes_people,
        routes_versions,
    ):
        app.include_router(module.router)
    describe_errors(app)
    static = Path(str(resources.files("salespulse.api").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    return app
