"""Replay preview: per-metric totals of a candidate KPI version against the active one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel, RepSpan
from projections.model.scopes import scope_spans
from projections.queries.numbers import ratio
from schemas.periods import parse_scope


@dataclass(frozen=True)
class MetricDiff:
    """One metric's total in both versions (None where a version lacks the metric)."""

    metric: str
    active: Decimal | None
    candidate: Decimal | None
    difference: Decimal | None  # candidate - active
    change: Decimal | None  # difference / active


def _totals(rm: ReadModel, kpis: KpiDefinitions, start: date, end: date) -> dict[str, Decimal]:
    # Every event of every rep, whatever their membership: the company total.
    return _scope_totals(rm, kpis, [RepSpan(rep_id, start, end) for rep_id in rm.reps()])


def compare_versions(
    active: ReadModel,
    active_kpis: KpiDefinitions,
    candidate: ReadModel,
    candidate_kpis: KpiDefinitions,
    start: date = date(1900, 1, 1),
    end: date = date(9999, 1, 1),
) -> list[MetricDiff]:
    """Company totals per metric over the org-local days [start, end), in metric order."""
    a = _totals(active, active_kpis, start, end)
    c = _totals(candidate, candidate_kpis, start, end)
    out = []
    for metric in dict.fromkeys([*active_kpis.metrics, *candidate_kpis.metrics]):
        before, after = a.get(metric), c.get(metric)
        diff = None if before is None or after is None else after - before
        change = None if diff is None or before is None else ratio(diff, before)
        out.append(MetricDiff(metric, before, after, diff, change))
    return out


@dataclass(frozen=True)
class ScopeDiff:
    """One metric of one scope (company, unit:<id>, rep:<id>) in both versions."""

    scope: str
    metric: str
    active: Decimal | None
    candidate: Decimal | None
    difference: Decimal  # candidate - active, a missing side counted as 0
    change: Decimal | None  # difference / active


def compare_scopes(
    active: ReadModel,
    active_kpis: KpiDefinitions,
    candidate: ReadModel,
    candidate_kpis: KpiDefinitions,
    start: date = date(1900, 1, 1),
    end: date = date(9999, 1, 1),
) -> list[ScopeDiff]:
    """Per metric and scope (company, every unit, every rep), the changed ones, largest first.

    Largest means the largest absolute difference; ties in scope, then metric order. The
    org tree and memberships come from the active version (they do not depend on KPIs).
    """
    units, reps = active.units(), active.reps()
    scopes = [
        parse_scope("company"),
        *(parse_scope(f"unit:{u}") for u in sorted(units)),
        *(parse_scope(f"rep:{r}") for r in sorted(reps)),
    ]
    metrics = list(dict.fromkeys([*active_kpis.metrics, *candidate_kpis.metrics]))
    out: list[ScopeDiff] = []
    for scope in scopes:
        spans = scope_spans(scope, units, reps, start, end)
        a = _scope_totals(active, active_kpis, spans)
        c = _scope_totals(candidate, candidate_kpis, spans)
        for metric in metrics:
            before, after = a.get(metric), c.get(metric)
            diff = (after or Decimal(0)) - (before or Decimal(0))
            if diff == 0 and (before is None) == (after is None):
                continue
            change = ratio(diff, before) if before else None
            out.append(ScopeDiff(str(scope), metric, before, after, diff, change))
    return sorted(out, key=lambda d: -abs(d.difference))


@dataclass(frozen=True)
class PeriodDiff:
    """One metric's company total in one month in both versions (what a policy change moves)."""

    period: str  # 2026-11
    metric: str
    active: Decimal
    candidate: Decimal
    difference: Decimal  # candidate - active


def compare_periods(
    active: ReadModel,
    active_kpis: KpiDefinitions,
    candidate: ReadModel,
    candidate_kpis: KpiDefinitions,
) -> list[PeriodDiff]:
    """Per month and metric (of both versions), the company totals that differ, by month.

    A corrections policy change (restate -> clawback) keeps every total and moves amounts
    between months: this is where it shows.
    """
    metrics = [m for m in candidate_kpis.metrics if m in active_kpis.metrics]
    a = _monthly(active, metrics)
    c = _monthly(candidate, metrics)
    out = []
    for period, metric in sorted(a.keys() | c.keys()):
        before, after = a.get((period, metric), Decimal(0)), c.get((period, metric), Decimal(0))
        if before != after:
            out.append(PeriodDiff(period, metric, before, after, after - before))
    return out


def _monthly(rm: ReadModel, metrics: list[str]) -> dict[tuple[str, str], Decimal]:
    spans = [RepSpan(rep_id, date(1900, 1, 1), date(9999, 1, 1)) for rep_id in rm.reps()]
    out: dict[tuple[str, str], Decimal] = {}
    if spans and metrics:
        for row in rm.metric_days(metrics, spans):
            key = (f"{row.day.year}-{row.day.month:02d}", row.metric)
            out[key] = out.get(key, Decimal(0)) + row.value
    return out


def _scope_totals(rm: ReadModel, kpis: KpiDefinitions, spans: list[RepSpan]) -> dict[str, Decimal]:
    out = dict.fromkeys(kpis.metrics, Decimal(0))
    if spans:
        for (metric, _), total in rm.metric_totals(list(kpis.metrics), spans).items():
            out[metric] += total.value
    return out
