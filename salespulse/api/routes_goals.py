"""Goal progress, leaderboard, team contest and the org tree (target history: routes_targets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from projections.model.scopes import unit_on
from projections.queries.goals import goal_progress
from projections.queries.leaderboard import Leaderboard, contest, leaderboard
from salespulse.api.auth import default_scope
from salespulse.api.deps import ApiContext, Ctx, Reader, check_detail
from salespulse.api.errors import metric_param, period_param, scope_param, units_param
from salespulse.api.models import (
    ContestEntryOut,
    ContestOut,
    GoalsOut,
    LeaderboardOut,
    OrgOut,
    RosterRepOut,
    UnitOut,
)

router = APIRouter(tags=["goals"])

ScopeQ = Annotated[
    str | None,
    Query(description="company, unit:<id> or rep:<id>; default: the caller's own scope"),
]
PeriodQ = Annotated[
    str | None,
    Query(description="2026, 2026-Q4, 2026-11, 2026-W45 or 2026-11-03; default: this month"),
]
MetricQ = Annotated[str, Query(description="a metric of the active KPI version")]


@router.get("/api/goals", response_model=GoalsOut)
def get_goals(ctx: Ctx, who: Reader, scope: ScopeQ = None, period: PeriodQ = None) -> GoalsOut:
    """Per metric with a target: target, actual, completion, gap, pace, forecast, band."""
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        report = goal_progress(view.model, view.kpis, sc, pe, now, ctx.settings.zone)
        return GoalsOut.of(report)


@router.get("/api/leaderboard", response_model=LeaderboardOut)
def get_leaderboard(
    ctx: Ctx,
    who: Reader,
    metric: MetricQ = "revenue",
    period: PeriodQ = None,
    scope: Annotated[str, Query(description="company, unit:<id> or rep:<id>")] = "company",
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> LeaderboardOut:
    """Competition ranking (1, 1, 3); equal values list who reached the value first first.

    Every reader sees every scope's leaderboard: positions are public on the sales floor.
    """
    return LeaderboardOut.model_validate(read_leaderboard(ctx, metric, period, scope, limit))


def read_leaderboard(
    ctx: ApiContext, metric: str, period: str | None, scope: str, limit: int | None
) -> Leaderboard:
    """The leaderboard the parameters name, as GET /api/leaderboard and its file export read it."""
    now = ctx.clock()
    with ctx.read_side() as view:
        m = metric_param(metric, view.kpis)
        sc = scope_param("scope", scope, view.model)
        pe = period_param(period, now, ctx.settings.zone)
        return leaderboard(view.model, m, pe, now, ctx.settings.zone, sc, limit)


@router.get("/api/contest", response_model=ContestOut)
def get_contest(
    ctx: Ctx,
    who: Reader,
    units: Annotated[str, Query(description="comma-separated unit ids, e.g. t1,t2")],
    metric: MetricQ = "revenue",
    period: PeriodQ = None,
) -> ContestOut:
    """Team versus team: per unit total, headcount, per-capita value and top rep."""
    now = ctx.clock()
    with ctx.read_side() as view:
        m = metric_param(metric, view.kpis)
        ids = units_param(units, view.model)
        pe = period_param(period, now, ctx.settings.zone)
        result = contest(view.model, m, pe, ids, now, ctx.settings.zone)
    entries = [ContestEntryOut.model_validate(e) for e in result.entries]
    ahead = entries[0] if entries and entries[0].per_capita else None
    if ahead is not None and len(entries) > 1 and entries[1].per_capita == ahead.per_capita:
        ahead = None  # a tie has no leader
    return ContestOut(
        metric=result.metric,
        period=result.period,
        leader=ahead.unit_id if ahead else None,
        entries=entries,
    )


@router.get("/api/org", response_model=OrgOut)
def get_org(ctx: Ctx, who: Reader) -> OrgOut:
    """The unit tree, the reps with today's unit and the active KPI version's metrics."""
    today = ctx.clock().astimezone(ctx.settings.zone).date()
    with ctx.read_side() as view:
        units = [UnitOut.model_validate(u) for u in view.model.units().values()]
        reps = [
            RosterRepOut(rep_id=r.rep_id, name=r.name, unit_id=unit_on(r, today))
            for r in view.model.reps().values()
        ]
        metrics = view.kpis.metrics
        return OrgOut(
            units=units,
            reps=reps,
            metrics=list(metrics),
            money_metrics=[m for m, d in metrics.items() if d.is_money],
            currency=ctx.settings.base_currency,
        )
