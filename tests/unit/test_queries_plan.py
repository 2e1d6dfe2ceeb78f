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
