"""A rep's daily report, written from what the rep did that day."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.daily import daily_report
from tests.support.builders import Events

KPIS = default_kpis()


def test_daily_report_of_a_rep() -> None:
    e = Events()
    won = e.won("r1", "2026-11-03T15:00", "o1", "1200.00")
    events = [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.join("r1", "t1", name="Ana"),
        e.target("rep:r1", "revenue", "2026-11", 30000),
        e.call("r1", "2026-11-03T09:00"),
        e.call("r1", "2026-11-03T09:10", "no_answer"),
        e.call("r1", "2026-11-03T09:20"),
        e.visit("r1", "2026-11-03T10:00"),
        e.visit("r1", "2026-11-03T11:00", visit_type="route"),
        e.created("r1", "2026-11-01", "o1", 1000),
        e.stage("r1", "2026-11-03T14:00", "o1", "proposal"),
        won,
        e.order("r1", "2026-11-03T16:00", "1200.00", opp="o1"),
        e.payment("r1", "2026-11-03T17:00", "300.00"),
        e.cheer("r2", "2026-11-03T15:01", str(won.event_id)),
        e.call("r1", "2026-11-04T09:00"),  # another day
    ]
    rm = build_oracle(events, FoldContext(KPIS))
    report = daily_report(rm, KPIS, "r1", date(2026, 11, 3), UTC)
    assert (report.name, report.unit_id) == ("Ana", "t1")
    assert report.calls_by_outcome == {"connected": 2, "no_answer": 1}
    assert report.visits_by_type == {"planned": 1, "route": 1}
    assert [(m.opportunity_id, m.from_stage, m.to_stage) for m in report.pipeline_moves] == [
        ("o1", "prospecting", "proposal"),
        ("o1", "proposal", "won"),
    ]
    assert [(w.event_id, w.amount, w.cheers) for w in report.wins] == [(won.event_id, 1200, 1)]
    assert [o.amount for o in report.orders] == [1200]
    assert (report.payments, report.payment_amount) == (1, 300)
    assert report.metrics["calls"] == 3 and report.metrics["revenue"] == 1200
    (goal,) = report.goals.lines
    assert (goal.metric, goal.actual, report.goals.as_of_day) == (
        "revenue",
        1200,
        date(2026, 11, 3),
    )
    assert report.summary[:2] == (
        "3 calls (connected 2, no answer 1)",
        "2 visits (planned 1, route 1)",
    )
    assert "won 1 deal(s) worth 1200" in report.summary
    # 3 days of 30 -> expected 3000, actual 1200 (40 %): behind.
    assert report.summary[-1] == "revenue: 4 % of the 2026-11 target, behind"
    assert goal.completion == Decimal("0.04")


def test_a_day_without_activity_says_so() -> None:
    rm = build_oracle([], FoldContext(KPIS))
    assert daily_report(rm, KPIS, "r9", date(2026, 11, 3), UTC).summary == ("no recorded activity",)
