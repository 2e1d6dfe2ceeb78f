"""The people's pages (sign-in, workbench, cockpit, contest, targets, KPI versions) and the
two reads made for them: who the caller is, and a unit's achievement report."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from projections.queries.achievement_report import achievement
from salespulse.api.auth import Principal, default_scope
from salespulse.api.deps import Ctx, Reader, allow, check_detail
from salespulse.api.errors import metric_param, period_param, scope_param
from salespulse.api.models_people import AchievementOut, WhoAmIOut
from salespulse.api.routes_goals import PeriodQ, ScopeQ

router = APIRouter(tags=["people"])
Anyone = Annotated[Principal, Depends(allow("admin", "manager", "rep", "producer"))]

# The pages each role may open; a page asks only for what its role may read (never a 403).
PAGES: dict[str, tuple[str, ...]] = {
    "admin": ("/team/company", "/contest", "/targets", "/kpi-versions", "/"),
    "manager": ("/team/{unit}", "/contest", "/targets", "/"),
    "rep": ("/me", "/contest", "/"),
    "producer": (),
}


@router.get("/api/whoami", response_model=WhoAmIOut)
def get_whoami(ctx: Ctx, who: Anyone) -> WhoAmIOut:
    """The caller as their token names them, and the pages their role may open."""
    unit_name = rep_name = None
    if who.role != "producer":
        with ctx.read_side() as view:
            unit = view.model.units().get(who.unit) if who.unit else None
            rep = view.model.reps().get(who.rep_id) if who.rep_id else None
            unit_name = unit.name if unit else None
            rep_name = rep.name if rep else None
    pages = [p.replace("{unit}", who.unit or "") for p in PAGES[who.role]]
    return WhoAmIOut(
        role=who.role,
        name=who.name,
        unit_id=who.unit,
        unit_name=unit_name,
        rep_id=who.rep_id,
        rep_name=rep_name,
        open_mode=who.open_mode,
        pages=pages,
    )


@router.get("/api/achievement", response_model=AchievementOut)
def get_achievement(
    ctx: Ctx,
    who: Reader,
    scope: ScopeQ = None,
    period: PeriodQ = None,
    metric: Annotated[str, Query(description="the metric of the report")] = "revenue",
) -> AchievementOut:
    """Every employee's and sub-unit's target, assessed value, actual, completion, pace,
    forecast and band; reps at risk or behind with the funnel diagnosis and missed rules."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        m = metric_param(metric, view.kpis)
        check_detail(who, sc, view, pe.start, pe.end)
        report = achievement(view.model, view.kpis, sc, m, pe, now, ctx.settings.zone)
        return AchievementOut.of(report)


def page_html(name: str) -> str:
    """The shell naming the page's module (it reads the API with the token the browser keeps)."""
    shell = resources.files("salespulse.api").joinpath("static/page.html").read_text("utf-8")
    return shell.replace("{page}", name)


def _page(name: str) -> HTMLResponse:
    return HTMLResponse(page_html(name), headers={"Cache-Control": "no-cache"})


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def get_login() -> HTMLResponse:
    return _page("login")


@router.get("/me", response_class=HTMLResponse, include_in_schema=False)
def get_me() -> HTMLResponse:
    return _page("me")


@router.get("/team/{unit}", response_class=HTMLResponse, include_in_schema=False)
def get_team(unit: Annotated[str, Path(max_length=200)]) -> HTMLResponse:
    return _page("team")


@router.get("/contest", response_class=HTMLResponse, include_in_schema=False)
def get_contest_page() -> HTMLResponse:
    return _page("contest")


@router.get("/targets", response_class=HTMLResponse, include_in_schema=False)
def get_targets_page() -> HTMLResponse:
    return _page("targets")


@router.get("/kpi-versions", response_class=HTMLResponse, include_in_schema=False)
def get_versions_page() -> HTMLResponse:
    return _page("kpi-versions")
