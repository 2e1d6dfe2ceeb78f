"""Exports: the achievement table and the leaderboard as CSV or XLSX (same roles as JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from projections.queries.achievement import achievement_table
from salespulse.api.auth import default_scope
from salespulse.api.deps import Ctx, Reader, check_detail
from salespulse.api.errors import period_param, scope_param
from salespulse.api.exports import (
    XLSX_TYPE,
    Cell,
    achievement_rows,
    file_response,
    leaderboard_rows,
    to_csv,
    to_xlsx,
)
from salespulse.api.routes_goals import MetricQ, PeriodQ, ScopeQ, read_leaderboard

router = APIRouter(tags=["exports"])
Format = Annotated[Literal["csv", "xlsx"], Path(description="csv or xlsx")]
_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX_TYPE: {}}, "description": "the file"}
}


def _file(fmt: str, name: str, headers: list[str], rows: list[list[Cell]]) -> Response:
    if fmt == "xlsx":
        return file_response(to_xlsx(name, headers, rows), f"{name}.xlsx", XLSX_TYPE)
    return file_response(to_csv(headers, rows), f"{name}.csv", "text/csv; charset=utf-8")


@router.get("/api/reports/achievement.{fmt}", response_class=Response, responses=_FILES)
def get_achievement(
    ctx: Ctx, who: Reader, fmt: Format, scope: ScopeQ = None, period: PeriodQ = None
) -> Response:
    """Per rep of the scope: each target metric's target, actual, completion and pace.

    Who may read it: as GET /api/goals for the scope (managers their units, reps themselves).
    """
    now = ctx.clock()
    with ctx.read_side() as view:
        sc = scope_param("scope", scope or default_scope(who), view.model)
        pe = period_param(period, now, ctx.settings.zone)
        check_detail(who, sc, view, pe.start, pe.end)
        table = achievement_table(view.model, view.kpis, sc, pe, now, ctx.settings.zone)
    headers, rows = achievement_rows(table)
    return _file(fmt, f"achievement-{pe.text}", headers, rows)


@router.get("/api/leaderboard.{fmt}", response_class=Response, responses=_FILES)
def get_leaderboard_file(
    ctx: Ctx,
    who: Reader,
    fmt: Format,
    metric: MetricQ = "revenue",
    period: PeriodQ = None,
    scope: Annotated[str, Query(description="company, unit:<id> or rep:<id>")] = "company",
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    """GET /api/leaderboard as a file (every reader, as the JSON form)."""
    board = read_leaderboard(ctx, metric, period, scope, limit)
    headers, rows = leaderboard_rows(board)
    return _file(fmt, f"leaderboard-{board.metric}-{board.period}", headers, rows)
