"""The per-employee achievement table: each rep of a scope, per metric target, actual, completion.

The metrics are those with a target for some rep of the scope in the period, revenue first
(always shown); a rep without a target for a metric shows the actual and leaves target,
completion and pace empty. Numbers are the goal queries' own (goal_progress, actuals), so
the table agrees with GET /api/goals for every rep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.model.scopes import scope_reps, unit_on
from projections.queries.clock import as_of_day
from projections.queries.goals import actuals, goal_progress
from schemas.periods import Period, Scope


@dataclass(frozen=True)
class Achievement:
    """One metric of one rep."""

    actual: Decimal
    target: Decimal | None
    completion: Decimal | None
    pace_status: str | None


@dataclass(frozen=True)
class AchievementRow:
    rep_id: str
    name: str
    unit_id: str | None
    unit_name: str | None
    metrics: dict[str, Achievement]


@dataclass(frozen=True)
class AchievementTable:
    scope: str
    period: str
    metrics: tuple[str, ...]
    rows: tuple[AchievementRow, ...]


def achievement_table(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope,
    period: Period,
    as_of: datetime,
    tz: tzinfo,
) -> AchievementTable:
    units, reps = rm.units(), rm.reps()
    members = scope_reps(scope, units, reps, period.start, period.end)
    rep_ids = sorted(reps) if members is None else members
    mine = {f"rep:{r}" for r in rep_ids}
    with_target = {
        t.metric
        for t in rm.targets(period=period.text)
        if t.scope in mine and t.metric in kpis.metrics
    }
    first = ["revenue"] if "revenue" in kpis.metrics else []
    metrics = tuple(first + sorted(with_target - set(first)))
    last_day = as_of_day(as_of, tz)
    day = min(max(last_day, period.start), period.end - timedelta(days=1))
    rows = []
    for rep_id in rep_ids:
        subject = Scope("rep", rep_id)
        goals = {g.metric: g for g in goal_progress(rm, kpis, subject, period, as_of, tz).lines}
        done = actuals(rm, list(metrics), subject, period, last_day)
        cells = {
            m: Achievement(
                actual=done[m],
                target=goals[m].target if m in goals else None,
                completion=goals[m].completion if m in goals else None,
                pace_status=goals[m].pace_status if m in goals else None,
            )
            for m in metrics
        }
        rep = reps.get(rep_id)
        unit_id = unit_on(rep, day) if rep else None
        unit = units.get(unit_id) if unit_id else None
        rows.append(
            AchievementRow(
                rep_id, rep.name if rep else rep_id, unit_id, unit.name if unit else None, cells
            )
        )
    return AchievementTable(str(scope), period.text, metrics, tuple(rows))
