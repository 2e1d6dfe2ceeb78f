"""Replay preview: the per-metric difference a revised KPI file makes."""

from __future__ import annotations

from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from projections.queries.preview import compare_versions
from tests.support.builders import Events


def test_replay_preview_compares_company_totals_per_metric() -> None:
    revised = parse_kpis(
        'version = 2\n[metrics.visits]\nevent = "VisitCompleted"\nmeasure = "count"\n'
        'where = ["duration_min >= 20"]\n'
        '[metrics.payments]\nevent = "PaymentReceived"\nmeasure = "sum(amount)"\n'
    )
    e = Events()
    events = [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.unit("t3", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t3"),
        e.visit("r1", "2026-11-03", duration_min=10),
        e.visit("r2", "2026-11-04"),
    ]
    active = build_oracle(events, FoldContext(default_kpis()))
    candidate = build_oracle(events, FoldContext(revised))
    diffs = {d.metric: d for d in compare_versions(active, default_kpis(), candidate, revised)}
    visits = diffs["visits"]
    assert (visits.active, visits.candidate, visits.difference) == (2, 1, -1)
    assert visits.change == Decimal("-0.5")
    assert (diffs["revenue"].active, diffs["revenue"].candidate) == (0, None)
