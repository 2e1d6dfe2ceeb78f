"""Goal progress of a scope in a period: target, actual, gap, pace, forecast, healthy band."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

from projections.model.kpi import ForecastMethod, KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.model.scopes import ScopeFilter, scope_reps, scope_spans
from projections.queries.allocation import allocations
from projections.queries.clock import as_of_day, elapsed_days, period_end_instant, through
from projections.queries.numbers import q, ratio
from projections.queries.pipeline import deals_as_of, open_in_scope, weighted_pipeline
from schemas.periods import Period, Scope, as_period, as_scope

ONE_DAY = timedelta(days=1)
PaceStatus = Literal["ahead", "on_track", "at_risk", "behind"]

# Pace = actual / expected_to_date. ahead: >= 110 %; on_track: 95 % to < 110 %;
# at_risk: more than 90 % and below 95 %; behind: 90 % or less (10 % or more under pace).
AHEAD_FROM = Decimal("1.10")
ON_TRACK_FROM = Decimal("0.95")
BEHIND_AT = Decimal("0.90")
# The healthy completion band (DESIGN.md): 80 % to 120 % of target, inclusive.
HEALTHY_BAND = (Decimal("0.80"), Decimal("1.20"))


@dataclass(frozen=True)
class GoalLine:
    """Progress of one metric against its target.

    expected_to_date = target x elapsed days / period days, where elapsed days count the as-of
    day itself. forecast: "pipeline" metrics add open deals expected to close in the period
    weighted by stage probability; "run_rate" metrics extrapolate actual linearly.
    in_healthy_band compares completion (actual / target) with 80-120 %.
    allocated / unallocated (org children) and allocated_over_time / unallocated_over_time
    (child periods) are defined in projections/allocation.py; None where there are no children.
    """

    metric: str
    target: Decimal
    actual: Decimal
    completion: Decimal | None
    gap: Decimal  # target - actual; negative once the target is exceeded
    expected_to_date: Decimal
    pace: Decimal | None  # actual / expected_to_date
    pace_status: PaceStatus
    forecast: Decimal | None
    forecast_method: ForecastMethod
    forecast_completion: Decimal | None
    in_healthy_band: bool | None
    allocated: Decimal | None = None
    unallocated: Decimal | None = None
    allocated_over_time: Decimal | None = None
    unallocated_over_time: Decimal | None = None


@dataclass(frozen=True)
class GoalReport:
    """Every metric with a target for a scope and period, as of an instant."""

    scope: str
    period: str
    as_of: datetime
    as_of_day: date
    elapsed_days: int
    period_days: int
    lines: tuple[GoalLine, ...]
    unknown_metrics: tuple[str, ...]  # targets set for metrics the KPI version lacks


def pace_status(actual: Decimal, expected: Decimal) -> PaceStatus:
    """Classify actual against the linear expectation (thresholds above)."""
    if expected <= 0:
        return "ahead" if actual > 0 else "on_track"
    pace = actual / expected
    if pace >= AHEAD_FROM:
        return "ahead"
    if pace >= ON_TRACK_FROM:
        return "on_track"
    if pace > BEHIND_AT:
        return "at_risk"
    return "behind"


def in_band(completion: Decimal | None) -> bool | None:
    """Whether a completion ratio lies in the healthy band."""
    if completion is None:
        return None
    return HEALTHY_BAND[0] <= completion <= HEALTHY_BAND[1]


def actuals(
    rm: ReadModel, metrics: list[str], scope: Scope, period: Period, last_day: date
) -> dict[str, Decimal]:
    """Metric sums for the scope over the period's days up to and including `last_day`."""
    start, end = through(period, last_day)
    spans = scope_spans(scope, rm.units(), rm.reps(), start, end)
    totals = rm.metric_totals(metrics, spans) if spans and metrics else {}
    out = {m: Decimal(0) for m in metrics}
    for (metric, _), total in totals.items():
        out[metric] += total.value
    return out


def goal_progress(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope | str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
) -> GoalReport:
    """Goal progress of every metric that has a target for the scope and period."""
    scope = as_scope(scope)
    period = as_period(period)
    last_day = as_of_day(as_of, tz)
    elapsed = elapsed_days(period, last_day)
    targets = {t.metric: t.value for t in rm.targets(scope=str(scope), period=period.text)}
    known = [m for m in targets if m in kpis.metrics]
    actual_of = actuals(rm, known, scope, period, last_day)
    allocation_of = allocations(rm, scope, period, {m: targets[m] for m in known})
    deals = []
    if any(kpis.metrics[m].forecast == "pipeline" for m in known) and last_day < period.end:
        at = min(as_of, period_end_instant(period, tz))
        in_scope = ScopeFilter(scope, rm.units(), rm.reps())
        owners = scope_reps(scope, rm.units(), rm.reps(), last_day, last_day + ONE_DAY)
        deals = open_in_scope(deals_as_of(rm.opportunities(owners), at), in_scope, last_day)
    lines = []
    for metric in known:
        target, actual = targets[metric], actual_of[metric]
        definition = kpis.metrics[metric]
        expected = q(target * elapsed / period.days)
        forecast: Decimal | None = None
        if definition.forecast == "pipeline":
            forecast = q(actual + weighted_pipeline(deals, definition, kpis, period))
        elif definition.forecast == "run_rate":
            forecast = q(actual * period.days / elapsed) if elapsed else actual
        completion = ratio(actual, target)
        allocation = allocation_of[metric]
        lines.append(
            GoalLine(
                metric=metric,
                target=target,
                actual=actual,
                completion=completion,
                gap=target - actual,
                expected_to_date=expected,
                pace=ratio(actual, expected),
                pace_status=pace_status(actual, expected),
                forecast=forecast,
                forecast_method=definition.forecast,
                forecast_completion=None if forecast is None else ratio(forecast, target),
                in_healthy_band=in_band(completion),
                allocated=allocation.allocated,
                unallocated=allocation.unallocated,
                allocated_over_time=allocation.allocated_over_time,
                unallocated_over_time=allocation.unallocated_over_time,
            )
        )
    return GoalReport(
        scope=str(scope),
        period=period.text,
        as_of=as_of,
        as_of_day=last_day,
        elapsed_days=elapsed,
        period_days=period.days,
        lines=tuple(lines),
        unknown_metrics=tuple(sorted(m for m in targets if m not in kpis.metrics)),
    )
