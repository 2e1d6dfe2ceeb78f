"""The cockpit's achievement report (红圈's 达成报表): each employee's and sub-unit's line.

One metric, one period: per rep target, assessed value, actual, completion, pace, forecast,
healthy band, and for a rep at risk or behind the reasons (the funnel's diagnosis against
the rep's peers and the behaviour rules the rep is missing); per unit of the subtree the
same line rolled up. The assessed value is the target times the metric's `assessed` share
from the KPI file, or times the healthy band's lower edge (80 %) when the file sets none.
(achievement.py is the export's wider table: every metric with a target, no reasons.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.model.scopes import members_on, subtree, unit_on
from projections.queries.behaviour import RuleStatus, behaviour
from projections.queries.clock import as_of_day, elapsed_days
from projections.queries.diagnosis import DiagnosisItem
from projections.queries.funnel import funnel
from projections.queries.goals import HEALTHY_BAND, GoalLine, PaceStatus, actuals, goal_progress
from projections.queries.numbers import q
from schemas.periods import Period, Scope, as_period, as_scope

# Reasons are worked out for these only: an on-track rep needs no explanation.
NEEDS_REASON: frozenset[str] = frozenset({"at_risk", "behind"})


@dataclass(frozen=True)
class Line:
    """One scope's line for the metric; target-less scopes have actual only."""

    target: Decimal | None
    assessed: Decimal | None
    actual: Decimal
    completion: Decimal | None
    pace_status: PaceStatus | None
    forecast: Decimal | None
    forecast_completion: Decimal | None
    in_healthy_band: bool | None


@dataclass(frozen=True)
class RepRow:
    """An employee's line, team and (when at risk or behind) the reasons."""

    rep_id: str
    name: str
    unit_id: str | None
    unit_name: str | None
    line: Line
    diagnosis: tuple[DiagnosisItem, ...]
    missed_rules: tuple[RuleStatus, ...]


@dataclass(frozen=True)
class UnitRow:
    """A unit of the subtree rolled up, with its headcount on the as-of day."""

    unit_id: str
    name: str
    kind: str
    parent_id: str | None
    headcount: int
    line: Line


@dataclass(frozen=True)
class Achievement:
    scope: str
    metric: str
    period: str
    as_of_day: date
    elapsed_days: int
    period_days: int
    assessed_share: Decimal
    total: Line
    reps: tuple[RepRow, ...]
    units: tuple[UnitRow, ...]


def _line(goal: GoalLine | None, actual: Decimal, share: Decimal) -> Line:
    if goal is None:
        return Line(None, None, actual, None, None, None, None, None)
    return Line(
        goal.target,
        q(goal.target * share),
        goal.actual,
        goal.completion,
        goal.pace_status,
        goal.forecast,
        goal.forecast_completion,
        goal.in_healthy_band,
    )


def achievement(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope | str,
    metric: str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
) -> Achievement:
    """The report of a unit or the company (a rep's scope gives that rep's row alone)."""
    scope, period = as_scope(scope), as_period(period)
    last_day = as_of_day(as_of, tz)
    day = min(max(last_day, period.start), period.end - timedelta(days=1))
    units, reps = rm.units(), rm.reps()
    share = kpis.metrics[metric].assessed or HEALTHY_BAND[0]

    def line_of(sc: Scope) -> Line:
        report = goal_progress(rm, kpis, sc, period, as_of, tz)
        goal = next((g for g in report.lines if g.metric == metric), None)
        if goal is not None:
            return _line(goal, goal.actual, share)
        return _line(None, actuals(rm, [metric], sc, period, last_day)[metric], share)

    rep_ids: list[str]
    unit_ids: list[str] = []
    if scope.kind == "rep" and scope.id is not None:
        rep_ids = [scope.id] if scope.id in reps else []
    elif scope.kind == "unit" and scope.id is not None:
        rep_ids = members_on(units, reps, scope.id, day)
        unit_ids = sorted(subtree(units, scope.id))
    else:
        rep_ids = [r for r, rep in reps.items() if unit_on(rep, day) is not None]
        unit_ids = sorted(units)
    rules = behaviour(rm, kpis, scope, period, as_of, tz).lines if scope.kind != "rep" else ()
    rows = []
    for rep_id in rep_ids:
        sc = Scope("rep", rep_id)
        line = line_of(sc)
        diagnosis: tuple[DiagnosisItem, ...] = ()
        missed: tuple[RuleStatus, ...] = ()
        if line.pace_status in NEEDS_REASON:
            diagnosis = funnel(rm, kpis, sc, period, as_of, tz).diagnosis
            mine = rules or behaviour(rm, kpis, sc, period, as_of, tz).lines
            missed = tuple(r for r in mine if r.subject == str(sc) and not r.compliant)
        unit_id = unit_on(reps[rep_id], day)
        unit = units.get(unit_id) if unit_id else None
        rows.append(
            RepRow(
                rep_id,
                reps[rep_id].name,
                unit_id,
                unit.name if unit else None,
                line,
                diagnosis,
                missed,
            )
        )
    unit_rows = tuple(
        UnitRow(
            u,
            units[u].name,
            units[u].kind,
            units[u].parent_id,
            len(members_on(units, reps, u, day)),
            line_of(Scope("unit", u)),
        )
        for u in unit_ids
    )
    return Achievement(
        scope=str(scope),
        metric=metric,
        period=period.text,
        as_of_day=last_day,
        elapsed_days=elapsed_days(period, last_day),
        period_days=period.days,
        assessed_share=share,
        total=line_of(scope),
        reps=tuple(rows),
        units=unit_rows,
    )
