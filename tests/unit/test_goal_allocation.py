"""Goal progress: allocated / unallocated down the org and over time, with hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.allocation import org_children, time_children_total
from projections.queries.goals import GoalLine, goal_progress
from schemas.events import AnyEvent
from schemas.periods import parse_period, parse_scope
from tests.support.builders import Events

KPIS = default_kpis()
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
D = Decimal


def org(e: Events) -> list[AnyEvent]:
    """c -> d1 -> (t1: r1, r2; t2: r3, r4 from the 16th); r5 directly in d1; c -> d2 (empty)."""
    return [
        e.unit("c", "company", None),
        e.unit("d1", "department", "c"),
        e.unit("d2", "department", "c"),
        e.unit("t1", "team", "d1"),
        e.unit("t2", "team", "d1"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
        e.join("r3", "t2"),
        e.join("r4", "t2", at="2026-11-16"),
        e.join("r5", "d1"),
    ]


NOVEMBER = {
    "company": "100000.00",
    "unit:d1": "60000.00",
    "unit:d2": "40000.00",
    "unit:t1": "30000.00",
    "unit:t2": "25000.00",
    "rep:r1": "10000.00",
    "rep:r2": "15000.00",
    "rep:r3": "12000.00",
    "rep:r4": "13000.01",
    "rep:r5": "5000.00",
}


def world(*extra: tuple[str, str, str]) -> InMemoryProjection:
    e = Events()
    targets = [e.target(s, "revenue", "2026-11", v) for s, v in NOVEMBER.items()]
    more = [e.target(s, "revenue", p, v, at="2020-06-01") for s, p, v in extra]
    return build_oracle([*org(e), *targets, *more], FoldContext(KPIS))


def revenue(rm: InMemoryProjection, scope: str, period: str = "2026-11") -> GoalLine:
    report = goal_progress(rm, KPIS, scope, period, AS_OF, UTC)
    return next(line for line in report.lines if line.metric == "revenue")


def test_given_targets_down_the_tree_then_each_level_sums_its_direct_children() -> None:
    rm = world()
    got = {s: (revenue(rm, s).allocated, revenue(rm, s).unallocated) for s in NOVEMBER}
    assert got == {
        # d1 60,000 + d2 40,000: fully allocated.
        "company": (D("100000.00"), D("0.00")),
        # One level down only: t1 30,000 + t2 25,000 + r5 (directly in d1) 5,000.
        "unit:d1": (D("60000.00"), D("0.00")),
        # d2 has no units and no reps: nothing to allocate to.
        "unit:d2": (None, None),
        # r1 10,000 + r2 15,000 = 25,000 of 30,000: 5,000 still to hand out.
        "unit:t1": (D("25000.00"), D("5000.00")),
        # r3 12,000 + r4 13,000.01 (joined on the 16th, still a child) = one cent too many.
        "unit:t2": (D("25000.01"), D("-0.01")),
        **{f"rep:r{i}": (None, None) for i in range(1, 6)},
    }


def test_given_a_child_target_replaced_by_a_bigger_one_then_the_parent_is_over_allocated() -> None:
    rm = world(("rep:r5", "2026-11", "7500.00"))  # later than the first r5 target: replaces it
    line = revenue(rm, "unit:d1")
    assert (line.target, line.allocated, line.unallocated) == (
        D("60000.00"),
        D("62500.00"),
        D("-2500.00"),
    )


def test_given_quarters_then_a_year_is_allocated_over_time_and_not_down_the_org() -> None:
    # 1,200,000 for 2026; Q1..Q3 at 300,000 each, Q4 not set yet; months of Q4 do not count
    # for the year, because the year's next finer kind with targets is the quarter.
    rm = world(
        ("company", "2026", "1200000.00"),
        *(("company", f"2026-Q{q}", "300000.00") for q in (1, 2, 3)),
        ("company", "2026-10", "99999.00"),
    )
    line = revenue(rm, "company", "2026")
    assert (line.allocated_over_time, line.unallocated_over_time) == (
        D("900000.00"),
        D("300000.00"),
    )
    # No department has a 2026 target: 0 of the year is allocated down the org.
    assert (line.allocated, line.unallocated) == (D("0"), D("1200000.00"))
    # November is not split over time (no week or day targets of the company).
    november = revenue(rm, "company")
    assert (november.allocated_over_time, november.unallocated_over_time) == (None, None)


def test_given_weeks_then_straddling_weeks_count_whole_and_days_are_the_fallback() -> None:
    by_period = {"2026-W44": D(1), "2026-W45": D(10), "2026-W49": D(100), "2026-W50": D(1000)}
    # November 2026 runs from W44 (Sun 1 Nov) to W49 (Mon 30 Nov); W50 is December's.
    assert time_children_total(by_period, parse_period("2026-11")) == D(111)
    days = {"2026-11-02": D(2), "2026-11-03": D(3), "2026-10-31": D(99)}
    assert time_children_total(days, parse_period("2026-W45")) == D(5)
    assert time_children_total(days, parse_period("2026-11-02")) is None


def test_org_children_of_the_company_are_the_units_below_the_company_unit() -> None:
    rm = world()
    units, reps, month = rm.units(), rm.reps(), parse_period("2026-11")
    assert org_children(units, reps, parse_scope("company"), month) == ["unit:d1", "unit:d2"]
    assert org_children(units, reps, parse_scope("unit:d1"), month) == [
        "rep:r5",
        "unit:t1",
        "unit:t2",
    ]
    # r4 joined t2 on 16 November: not a child for October.
    october = parse_period("2026-10")
    assert org_children(units, reps, parse_scope("unit:t2"), october) == ["rep:r3"]
