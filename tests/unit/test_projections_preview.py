"""Replay preview: the per-metric difference a revised KPI file makes."""

from __future__ import annotations

from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from projections.queries.preview import compare_periods, compare_versions
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


def test_preview_of_clawback_against_restate_shows_the_moved_amounts_per_month() -> None:
    # Given a November order cancelled in December and another amended down in December,
    # when the policy changes from restate to clawback, then November gets both orders back
    # and December carries the minus: the totals stay, amounts move between months.
    restate = default_kpis()
    clawback = parse_kpis(
        restate.source.replace("version = 1", 'version = 2\ncorrections = "clawback"')
    )
    e = Events()
    events = [
        e.unit("c", "company", None),
        e.join("r1", "c"),
        e.order("r1", "2026-11-28", "100000", order_id="o-1"),
        e.cancel("r1", "2026-12-03", "o-1"),
        e.order("r1", "2026-11-10", "5000", order_id="o-2"),
        e.amend("r1", "2026-12-05", "o-2", "4000"),
    ]
    active = build_oracle(events, FoldContext(restate))
    candidate = build_oracle(events, FoldContext(clawback))

    moved = compare_periods(active, restate, candidate, clawback)

    assert [(d.period, d.metric, d.active, d.candidate, d.difference) for d in moved] == [
        ("2026-11", "orders", 1, 2, 1),
        ("2026-11", "revenue", 4000, 105000, 101000),
        ("2026-12", "orders", 0, -1, -1),
        ("2026-12", "revenue", 0, -101000, -101000),
    ]
    # Company totals over all time are the same under both policies.
    assert all(d.difference == 0 for d in compare_versions(active, restate, candidate, clawback))
