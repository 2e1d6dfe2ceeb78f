"""Funnel health, behaviour compliance, the reverse-funnel plan and a rep's daily report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query

from projections.queries.behaviour import behaviour
from projections.queries.conflicts import conflicts
from projections.queries.daily import daily_report
from projections.queries.funnel import funnel
from projections.queries.plan import plan
from salespulse.api.auth import default_scope
from salespulse.api.deps import Ctx, Reader, check_detail
from salespulse.api.errors import ApiError, date_param, metric_param, period_param, scope_param
from salespulse.api.models_reports import (
    BehaviourOut,
    ConflictOut,
    ConflictsOut,
    DailyOut,
    FunnelOut,
    PlanOut,
)
from salespulse.api.routes_goals import PeriodQ, ScopeQ
from schemas.periods import Scope

router = APIRouter(tags=["reports"])


@router.get("/api/funnel", response_model=FunnelOut)
def get_funnel(ctx: Ctx, who: Reader, scope: ScopeQ = None, period: PeriodQ = None) -> FunnelOut:
    """Open stages, conversion, win rate, deal size, cycle, velocity, stalls and a diagnosis."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        return FunnelOut.of(funnel(view.model, view.kpis, sc, pe, now, ctx.settings.zone))


@router.get("/api/conflicts", response_model=ConflictsOut)
def get_conflicts(
    ctx: Ctx, who: Reader, scope: ScopeQ = None, period: PeriodQ = None
) -> ConflictsOut:
    """Duplicate deals (撞单): an account with open deals of two reps; resolved or not."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        found = conflicts(view.model, sc, pe, ctx.settings.zone)
        return ConflictsOut(
            scope=str(sc),
            period=str(pe),
            conflicts=[ConflictOut.model_validate(asdict(c)) for c in found],
        )


@router.get("/api/behaviour", response_model=BehaviourOut)
def get_behaviour(
    ctx: Ctx, who: Reader, scope: ScopeQ = None, period: PeriodQ = None
) -> BehaviourOut:
    """Per behaviour rule and subject: actual, required, remaining, days left, pace needed."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        return BehaviourOut.of(behaviour(view.model, view.kpis, sc, pe, now, ctx.settings.zone))


@router.get("/api/plan", response_model=PlanOut)
def get_plan(
    ctx: Ctx,
    who: Reader,
    scope: ScopeQ = None,
    period: PeriodQ = None,
    metric: Annotated[str, Query(description="the target's metric")] = "revenue",
) -> PlanOut:
    """Reverse funnel: the wins, opportunities, leads and visits the target requires."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        m = metric_param(metric, view.kpis)
        check_detail(who, sc, view, pe.start, pe.end)
        definition = view.kpis.metrics.get(m)
        found = plan(view.model, sc, pe, now, ctx.settings.zone, m, definition)
        return PlanOut.model_validate(found)


@router.get(
    "/api/reps/{rep_id}/daily",
    response_model=DailyOut,
    responses={404: {"description": "unknown rep"}},
)
def get_daily(
    ctx: Ctx,
    who: Reader,
    rep_id: Annotated[str, Path(description="the rep's id")],
    date: Annotated[str | None, Query(description="YYYY-MM-DD; default: today")] = None,
) -> DailyOut:
    """What the rep did on the day, written out, with the month's goals as of its end."""
    day = date_param("date", date, ctx.clock(), ctx.settings.zone)
    with ctx.read_side() as view:
        if rep_id not in view.model.reps():
            raise ApiError(404, "rep_id", f"unknown rep {rep_id!r}")
        check_detail(who, Scope("rep", rep_id), view, day, day + timedelta(days=1), "rep_id")
        return DailyOut.of(daily_report(view.model, view.kpis, rep_id, day, ctx.settings.zone))
