"""A candidate KPI version: its preview against the active one (names, effects) and the switch."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path

from projections.model.readmodel import ReadModel
from projections.queries.version_effects import version_effects
from salespulse.api.deps import Admin, Ctx
from salespulse.api.errors import ApiError, period_param
from salespulse.api.models import ErrorOut, VersionOut, VersionsOut
from salespulse.api.models_versions import (
    CompletionChangeOut,
    RankChangeOut,
    RuleEffectOut,
    ScopeChangeOut,
    VersionPreviewOut,
)
from salespulse.api.routes_goals import PeriodQ

router = APIRouter(tags=["operations"])
VersionP = Annotated[int, Path(ge=1, description="a projection version")]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}}


def _names(model: ReadModel) -> dict[str, str]:
    units, reps = model.units(), model.reps()
    names = {f"unit:{u}": unit.name for u, unit in units.items()}
    names |= {f"rep:{r}": rep.name for r, rep in reps.items()}
    return names


@router.get(
    "/api/kpi-versions/{version}/preview", response_model=VersionPreviewOut, responses=_ERRORS
)
def get_version_preview(
    ctx: Ctx, who: Admin, version: VersionP, period: PeriodQ = None
) -> VersionPreviewOut:
    """The candidate against the active version in the period: the largest differences per
    scope and metric, with names; completions, leaderboard places and rule compliance that
    would change on activation."""
    if ctx.candidates is None:
        raise ApiError(404, "version", "this API serves one version only (no registry)")
    now = ctx.clock()
    pe = period_param(period, now, ctx.settings.zone)
    with ctx.candidates.compare(version) as (active, candidate):
        fx = version_effects(
            active.model, active.kpis, candidate.model, candidate.kpis, pe, now, ctx.settings.zone
        )
        names = _names(active.model) | {"company": "company"}

    def rep(rep_id: str) -> str:
        return names.get(f"rep:{rep_id}", rep_id)

    return VersionPreviewOut(
        version=version,
        active_version=active.kpis.version,
        description=candidate.kpis.description,
        period=fx.period,
        changes=[
            ScopeChangeOut(
                scope=c.scope,
                name=names.get(c.scope, c.scope),
                metric=c.metric,
                active=c.active,
                candidate=c.candidate,
                difference=c.difference,
                change=c.change,
            )
            for c in fx.changes
        ],
        completion=[
            CompletionChangeOut(
                rep_id=c.rep_id,
                name=rep(c.rep_id),
                metric=c.metric,
                target=c.target,
                before=c.before,
                after=c.after,
            )
            for c in fx.completion
        ],
        ranks=[
            RankChangeOut(
                rep_id=r.rep_id, name=rep(r.rep_id), metric=r.metric, before=r.before, after=r.after
            )
            for r in fx.ranks
        ],
        rules=[
            RuleEffectOut(
                rule=r.rule,
                metric=r.metric,
                required=r.required,
                missing_before=r.missing_before,
                missing_after=r.missing_after,
                newly_missing=[rep(x) for x in r.newly_missing],
            )
            for r in fx.rules
        ],
    )


@router.post("/api/kpi-versions/{version}/activate", response_model=VersionsOut, responses=_ERRORS)
async def post_activate(ctx: Ctx, who: Admin, version: VersionP) -> VersionsOut:
    """Switch readers to a ready version in one transaction (the previous one is retired)."""
    if ctx.candidates is None or ctx.ops is None:
        raise ApiError(404, "version", "this API serves one version only (no registry)")
    candidates, ops = ctx.candidates, ctx.ops
    await anyio.to_thread.run_sync(candidates.activate, version)
    versions = await anyio.to_thread.run_sync(ops.versions)
    return VersionsOut(versions=[VersionOut.model_validate(v) for v in versions])
