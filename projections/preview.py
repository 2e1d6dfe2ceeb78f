"""Replay preview: per-metric company totals of a candidate KPI version against the active one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from projections.kpi import KpiDefinitions
from projections.numbers import ratio
from projections.readmodel import ReadModel, RepSpan


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
    spans = [RepSpan(rep_id, start, end) for rep_id in rm.reps()]
    out = dict.fromkeys(kpis.metrics, Decimal(0))
    for (metric, _), total in rm.metric_totals(list(kpis.metrics), spans).items():
        out[metric] += total.value
    return out


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
