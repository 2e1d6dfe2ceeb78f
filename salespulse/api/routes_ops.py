"""Liveness, Prometheus metrics, projection versions, and the dashboard page."""

from __future__ import annotations

from importlib import resources
from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from salespulse.api.deps import Admin, ApiContext, Ctx
from salespulse.api.models import (
    ChannelStatusOut,
    HealthOut,
    NotifyStatusOut,
    VersionOut,
    VersionsOut,
)
from salespulse.api.ops import lag_families, notify_families, progress_of, render

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def get_health(ctx: Ctx) -> Any:
    """The process answers (no token needed, for probes), and which dependency is down: 503
    `degraded` names it. Read from a probe that runs every second, so it answers at once."""
    dependencies = ctx.health() if ctx.health is not None else {}
    down = any(state == "down" for state in dependencies.values())
    out = HealthOut(
        status="degraded" if down else "ok",
        mode="open" if ctx.tokens is None else "tokens",
        dependencies=dependencies,
    )
    if down:
        return JSONResponse(out.model_dump(mode="json"), status_code=503)
    return out


@router.get("/metrics", response_class=PlainTextResponse)
async def get_metrics(ctx: Ctx, who: Admin) -> PlainTextResponse:
    """Prometheus text format: requests, ingest counts, stream clients, lag per partition."""
    families = ctx.metrics.families()
    if ctx.ops is not None:
        families += lag_families(await anyio.to_thread.run_sync(ctx.ops.lag))
    if ctx.notify_status is not None:
        families += notify_families(await anyio.to_thread.run_sync(ctx.notify_status))
    return PlainTextResponse(render(families), media_type="text/plain; version=0.0.4")


@router.get("/api/notify/status", response_model=NotifyStatusOut)
def get_notify_status(ctx: Ctx, who: Admin) -> NotifyStatusOut:
    """Each chat channel's deliveries and failures, as `salespulse notify` recorded them."""
    channels = ctx.notify_status() if ctx.notify_status is not None else []
    return NotifyStatusOut(channels=[ChannelStatusOut.model_validate(c) for c in channels])


@router.get("/api/kpi-versions", response_model=VersionsOut)
def get_kpi_versions(ctx: Ctx, who: Admin) -> VersionsOut:
    """Projection versions: active, building (with progress and lag) or retired."""
    if ctx.ops is not None:
        return VersionsOut(versions=[VersionOut.model_validate(v) for v in ctx.ops.versions()])
    return VersionsOut(versions=[_served_version(ctx)])


def _served_version(ctx: ApiContext) -> VersionOut:
    # Without a registry (an in-memory read model) the one version served is the active one.
    with ctx.read_side() as view:
        kpis = view.kpis
    progress, lag = progress_of([])
    return VersionOut(
        version=kpis.version,
        status="active",
        description=kpis.description,
        schema_name=None,
        created_at=None,
        activated_at=None,
        progress=progress,
        lag=lag,
    )


def dashboard_html() -> str:
    """The TV dashboard page (static; it reads the API with the token it is given)."""
    return resources.files("salespulse.api").joinpath("static/index.html").read_text("utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def get_dashboard() -> HTMLResponse:
    return HTMLResponse(dashboard_html(), headers={"Cache-Control": "no-cache"})
