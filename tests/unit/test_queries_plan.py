"""Reverse-funnel plan: own trailing rates where there is history, the parent unit's otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.plan import plan
from tests.support.builders import Events

KPIS = default_kpis()
AS_OF = datetime(2026, 12, 15, tzinfo=UTC)


def day(n: int) -> date:
    return date(2026, 7, 1) + timedelta(days=n)


def history() -> list:
    e = Events()
    events = [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
        e.target("rep:r1", "revenue", "2027-Q1", 18000),
    ]
    # r1: 40 visits and 8 opportunities (enough for opportunities per visit: 0.2), but only
    # 4 closed deals and 10 leads: too little for the other rates.
    events += [e.visit("r1", day(i * 3)) for i in range(40)]
    events += [e.lead("r1", day(i)) for i in range(10)]
    events += [e.created("r1", day(i), f"a{i}", 1000) for i in range(8)]
    events += [e.won("r1", day(50 + i), f"a{i}", 1000) for i in range(2)]
    events += [e.lost("r1", day(60 + i), f"a{2 + i}") for i in range(2)]
    # r2 gives the team 14 closed deals (10 won, 4 lost) and 40 leads for 20 opportunities.
    events += [e.lead("r2", day(i)) for i in range(30)]
    events += [e.created("r2", day(i), f"b{i}", 2000) for i in range(12)]
    events += [e.won("r2", day(70 + i), f"b{i}", 2000) for i in range(8)]
    events += [e.lost("r2", day(90 + i), f"b{8 + i}") for i in range(2)]
    return events


def test_reverse_funnel_falls_back_to_the_team_where_the_rep_has_too_little_history() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    result = plan(rm, "rep:r1", "2027-Q1", AS_OF, UTC)
    # Window: the 180 days up to the end of the as-of day (the 14th: AS_OF is midnight).
    assert (result.window_start, result.window_end) == (date(2026, 6, 18), date(2026, 12, 15))
    assert result.target == 18000
    assert (result.win_rate.value, result.win_rate.source) == (Decimal("0.7143"), "unit:t1")
    assert (result.avg_deal_size.value, result.avg_deal_size.source) == (1800, "unit:t1")
    assert result.opportunities_per_visit.value == Decimal("0.2")
    assert result.opportunities_per_visit.source == "rep:r1"
    assert result.opportunities_per_lead.value == Decimal("0.5")
    assert result.opportunities_per_lead.source == "unit:t1"
    # 18000 / 1800 = 10 wins; 10 / 0.7143 -> 14 opportunities; 14 / 0.2 = 70 visits;
    # 14 / 0.5 = 28 leads.
    assert (result.required_wins, result.required_opportunities) == (10, 14)
    assert (result.required_visits, result.required_leads) == (70, 28)
    assert result.fallback is True
    assert any("win_rate from unit:t1" in n for n in result.notes)


def test_the_team_uses_its_own_rates_and_a_missing_target_is_said() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    result = plan(rm, "unit:t1", "2027-Q1", AS_OF, UTC)
    assert (
        result.win_rate.source == "unit:t1" and result.opportunities_per_visit.source == "unit:t1"
    )
    assert result.fallback is False
    assert result.target is None and result.required_wins is None
    assert result.notes == ("no revenue target is set for unit:t1 in 2027-Q1",)


def test_a_count_metric_target_is_not_divided_by_the_deal_size() -> None:
    # before the fix: 25,734 calls were divided by the average deal size ("-> 4 wins")
    e = Events(first_id=5000)
    rm = build_oracle(
        [*history(), e.target("rep:r1", "calls", "2027-Q1", 25734)], FoldContext(KPIS)
    )
    result = plan(rm, "rep:r1", "2027-Q1", AS_OF, UTC, "calls", KPIS.metrics["calls"])
    assert result.target == 25734
    assert (result.required_wins, result.required_opportunities) == (None, None)
    assert any("not a step of the sales funnel" in n for n in result.notes)


def test_a_wins_target_is_the_required_wins_and_an_opportunities_target_the_opportunities() -> None:
    e = Events(first_id=5000)
    events = [
        *history(),
        e.target("rep:r1", "wins", "2027-Q1", 7),
        e.target("rep:r1", "new_opportunities", "2027-Q1", 20),
    ]
    rm = build_oracle(events, FoldContext(KPIS))
    wins = plan(rm, "rep:r1", "2027-Q1", AS_OF, UTC, "wins", KPIS.metrics["wins"])
    assert (wins.required_wins, wins.required_opportunities) == (7, 10)  # 7 / 0.7143 -> 10
    opps = plan(
        rm, "rep:r1", "2027-Q1", AS_OF, UTC, "new_opportunities", KPIS.metrics["new_opportunities"]
    )
    assert (opps.required_wins, opps.required_opportunities) == (None, 20)
    assert opps.required_visits == 100  # 20 / 0.2
