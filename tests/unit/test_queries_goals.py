"""Goal progress: membership at event time, target replacement, pace thresholds, forecast."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.goals import GoalLine, goal_progress, in_band, pace_status
from tests.support.builders import Events

KPIS = default_kpis()
CTX = FoldContext(KPIS)


def org(e: Events) -> list:
    return [
        e.unit("c", "company", None),
        e.unit("d1", "department", "c"),
        e.unit("t1", "team", "d1"),
        e.unit("t2", "team", "d1"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
    ]


def line(report_lines: tuple[GoalLine, ...], metric: str) -> GoalLine:
    return next(g for g in report_lines if g.metric == metric)


def test_a_transfer_on_the_16th_splits_the_month_between_the_units() -> None:
    e = Events()
    events = [
        *org(e),
        e.order("r1", "2026-11-15T17:00", 100),
        e.transfer("r1", "t2", "2026-11-16T09:00"),
        # Earlier on the transfer day still counts for the new unit: day granularity.
        e.order("r1", "2026-11-16T08:00", 200),
        e.order("r1", "2026-11-20", 50),
        *(
            e.target(s, "revenue", "2026-11", 1000)
            for s in ("unit:t1", "unit:t2", "unit:d1", "company", "rep:r1")
        ),
    ]
    rm = build_oracle(events, CTX)
    as_of = datetime(2026, 12, 1, tzinfo=UTC)
    actual = {
        s: line(goal_progress(rm, KPIS, s, "2026-11", as_of, UTC).lines, "revenue").actual
        for s in ("unit:t1", "unit:t2", "unit:d1", "company", "rep:r1")
    }
    assert actual == {"unit:t1": 100, "unit:t2": 250, "unit:d1": 350, "company": 350, "rep:r1": 350}


def test_a_transfer_arriving_late_still_moves_the_days_after_it() -> None:
    # Order independence: the transfer is applied after the orders it re-attributes.
    e = Events()
    events = [
        *org(e),
        e.order("r1", "2026-11-20", 70),
        e.target("unit:t2", "revenue", "2026-11", 10),
    ]
    rm = build_oracle(events, CTX)
    rm.apply_event(e.transfer("r1", "t2", "2026-11-16T09:00"))
    report = goal_progress(rm, KPIS, "unit:t2", "2026-11", datetime(2026, 12, 1, tzinfo=UTC), UTC)
    assert line(report.lines, "revenue").actual == 70


def test_a_later_target_set_replaces_the_earlier_and_an_older_one_arriving_late_does_not() -> None:
    e = Events()
    first = e.target("unit:t1", "revenue", "2026-11", 1000, at="2026-10-01")
    revised = e.target("unit:t1", "revenue", "2026-11", 2000, at="2026-10-05")
    older_but_late = e.target("unit:t1", "revenue", "2026-11", 500, at="2026-10-03")
    rm = build_oracle([*org(e), first, revised, older_but_late], CTX)
    (target,) = rm.targets(scope="unit:t1", period="2026-11", metric="revenue")
    assert target.value == 2000
    history = rm.target_history("unit:t1", "revenue", "2026-11")
    assert [t.value for t in history] == [1000, 500, 2000]  # by occurred_at, oldest first


@pytest.mark.parametrize(
    ("actual", "expected", "status"),
    [
        ("110", "100", "ahead"),  # exactly +10 % over pace
        ("109.99", "100", "on_track"),
        ("95", "100", "on_track"),  # exactly -5 %
        ("94.99", "100", "at_risk"),
        ("90.01", "100", "at_risk"),
        ("90", "100", "behind"),  # exactly 10 % under pace
        ("0", "0", "on_track"),  # before the period starts
        ("1", "0", "ahead"),
    ],
)
def test_pace_status_at_the_boundaries(actual: str, expected: str, status: str) -> None:
    assert pace_status(Decimal(actual), Decimal(expected)) == status


@pytest.mark.parametrize(
    ("completion", "healthy"),
    [("0.7999", False), ("0.80", True), ("1.20", True), ("1.2001", False), (None, None)],
)
def test_the_healthy_band_is_80_to_120_percent(
    completion: str | None, healthy: bool | None
) -> None:
    assert in_band(None if completion is None else Decimal(completion)) is healthy


def test_goal_line_numbers_worked_by_hand() -> None:
    # November has 30 days; as of the 15th (18:00), 15 days have elapsed (today included).
    e = Events()
    events = [
        *org(e),
        e.target("rep:r1", "revenue", "2026-11", 3000),
        e.target("rep:r1", "visits", "2026-11", 30),
        e.order("r1", "2026-11-02", 700),
        e.order("r1", "2026-11-15T20:00", 500),
        e.order("r1", "2026-11-16", 999),  # after the as-of day: not counted
        *(e.visit("r1", f"2026-11-{d:02d}") for d in range(1, 16)),
        # Pipeline: negotiation 1000 closing this month (x 0.75), proposal closing next month
        # (ignored), and a won deal (closed: not pipeline).
        e.created("r1", "2026-11-01", "o1", 1000, stage="negotiation", close="2026-11-25"),
        e.created("r1", "2026-11-01", "o2", 4000, stage="proposal", close="2026-12-10"),
        e.created("r1", "2026-11-01", "o3", 800, stage="proposal", close="2026-11-20"),
        e.won("r1", "2026-11-05", "o3", 800),
    ]
    rm = build_oracle(events, CTX)
    report = goal_progress(
        rm, KPIS, "rep:r1", "2026-11", datetime(2026, 11, 15, 18, tzinfo=UTC), UTC
    )
    assert (report.elapsed_days, report.period_days) == (15, 30)
    revenue = line(report.lines, "revenue")
    assert revenue.target == 3000 and revenue.actual == 1200
    assert revenue.expected_to_date == 1500 and revenue.gap == 1800
    assert revenue.completion == Decimal("0.4") and revenue.pace == Decimal("0.8")
    assert revenue.pace_status == "behind" and revenue.in_healthy_band is False
    assert (revenue.forecast_method, revenue.forecast) == ("pipeline", 1200 + 750)
    visits = line(report.lines, "visits")
    assert (visits.actual, visits.expected_to_date, visits.pace_status) == (15, 15, "on_track")
    assert (visits.forecast_method, visits.forecast) == ("run_rate", 30)


def test_as_of_midnight_means_the_end_of_the_previous_day() -> None:
    e = Events()
    rm = build_oracle([*org(e), e.target("rep:r1", "orders", "2026-11", 30)], CTX)
    report = goal_progress(rm, KPIS, "rep:r1", "2026-11", datetime(2026, 11, 21, tzinfo=UTC), UTC)
    assert report.as_of_day.day == 20 and report.elapsed_days == 20


def test_a_target_for_a_metric_the_kpi_version_lacks_is_reported_not_dropped_silently() -> None:
    e = Events()
    rm = build_oracle([e.target("company", "margin", "2026", 5)], CTX)
    report = goal_progress(rm, KPIS, "company", "2026", datetime(2026, 6, 1, tzinfo=UTC), UTC)
    assert report.lines == () and report.unknown_metrics == ("margin",)
