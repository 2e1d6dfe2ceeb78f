"""Funnel economics worked by hand: velocity, conversion, stalls, and the peer diagnosis."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.funnel import funnel, velocity
from tests.support.builders import Events

KPIS = default_kpis()
CTX = FoldContext(KPIS)
END_OF_NOVEMBER = datetime(2026, 12, 1, tzinfo=UTC)


def team(e: Events) -> list:
    return [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
        e.join("r3", "t1"),
    ]


def test_velocity_formula() -> None:
    # 10 open x 0.6 win rate x 2000 average deal / 30 days cycle x 30 = 12000 per month.
    assert velocity(10, Decimal("0.6"), Decimal("2000"), Decimal("30")) == Decimal("12000.00")
    assert velocity(10, None, Decimal("2000"), Decimal("30")) is None


def test_velocity_example_worked_by_hand() -> None:
    e = Events()
    # Won in November after 20, 30 and 40 days, for 1000, 2000 and 3000; lost 2.
    closed = [
        e.created("r1", "2026-10-12", "w1", 1000),
        e.won("r1", "2026-11-01", "w1", 1000),
        e.created("r1", "2026-10-10", "w2", 1500),
        e.won("r1", "2026-11-09", "w2", 2000),
        e.created("r1", "2026-10-05", "w3", 3000),
        e.won("r1", "2026-11-14", "w3", 3000),
        e.created("r1", "2026-10-05", "l1", 9000),
        e.lost("r1", "2026-11-03", "l1"),
        e.created("r1", "2026-10-05", "l2", 9000),
        e.lost("r1", "2026-11-04", "l2"),
    ]
    stages = ["prospecting"] * 4 + ["qualification"] * 3 + ["proposal"] * 2 + ["negotiation"]
    open_deals = [
        e.created("r1", "2026-11-20", f"o{i}", 100, stage=s) for i, s in enumerate(stages)
    ]
    rm = build_oracle([*team(e), *closed, *open_deals], CTX)
    stats = funnel(rm, KPIS, "rep:r1", "2026-11", END_OF_NOVEMBER, UTC).stats
    assert (stats.won, stats.lost, stats.win_rate) == (3, 2, Decimal("0.6"))
    assert stats.won_amount == 6000 and stats.avg_deal_size == 2000
    assert stats.avg_cycle_days == 30
    assert stats.open_count == 10 and stats.open_amount == 1000
    assert [(s.stage, s.open_count) for s in stats.stages] == [
        ("prospecting", 4),
        ("qualification", 3),
        ("proposal", 2),
        ("negotiation", 1),
    ]
    assert stats.stages[3].weighted_amount == 75
    assert stats.velocity_per_month == Decimal("12000.00")
    assert stats.new_opportunities == 10  # w*/l* were created in October


def test_a_past_period_is_seen_as_of_its_end() -> None:
    e = Events()
    events = [
        *team(e),
        e.created("r1", "2026-11-20", "o1", 100),
        e.won("r1", "2026-12-03", "o1", 100),
    ]
    rm = build_oracle(events, CTX)
    stats = funnel(rm, KPIS, "rep:r1", "2026-11", datetime(2027, 1, 1, tzinfo=UTC), UTC).stats
    assert (stats.open_count, stats.won) == (1, 0)  # still open at the end of November


def test_diagnosis_against_the_team_median_carries_its_numbers() -> None:
    e = Events()
    r1 = [
        *(e.created("r1", "2026-11-02", f"p{i}", 100, stage="proposal") for i in range(4)),
        e.stage("r1", "2026-11-05", "p0", "negotiation"),
        # Two deals sitting in negotiation since October.
        e.created("r1", "2026-10-20", "n1", 500, stage="negotiation"),
        e.created("r1", "2026-10-20", "n2", 500, stage="negotiation"),
    ]
    peers = []
    for rep in ("r2", "r3"):
        peers += [
            e.created(rep, "2026-11-02", f"{rep}p{i}", 100, stage="proposal") for i in range(4)
        ]
        peers += [e.stage(rep, "2026-11-25", f"{rep}p{i}", "negotiation") for i in range(2)]
        peers += [e.created(rep, "2026-11-20", f"{rep}q{i}", 100) for i in range(8)]
    rm = build_oracle([*team(e), *r1, *peers], CTX)
    report = funnel(rm, KPIS, "rep:r1", "2026-11", END_OF_NOVEMBER, UTC)
    assert report.peers == ("rep:r2", "rep:r3")
    proposal = report.stats.conversions[2]
    assert (proposal.from_stage, proposal.to_stage, proposal.entered, proposal.converted) == (
        "proposal",
        "negotiation",
        4,
        1,
    )
    items = {d.code: d for d in report.diagnosis}
    assert list(items) == ["few_new_opportunities", "low_conversion", "stalls"]
    few = items["few_new_opportunities"]
    assert (few.value, few.peer_median, few.ratio, few.peers) == (4, 12, Decimal("0.3333"), 2)
    conversion = items["low_conversion"]
    assert conversion.stage == "proposal"
    assert (conversion.value, conversion.peer_median, conversion.ratio) == (
        Decimal("0.25"),
        Decimal("0.5"),
        Decimal("0.5"),
    )
    assert "conversion from proposal to negotiation" in conversion.message
    stalls = items["stalls"]
    assert stalls.stage == "negotiation" and stalls.value == 1  # all 3 open are stalled
    # Proposals stall too (29 days > 21), but no more than the peers' do: no finding.
    assert {s.opportunity_id for s in report.stats.stalled} == {"n1", "n2", "p0", "p1", "p2", "p3"}
    (n1,) = [s for s in report.stats.stalled if s.opportunity_id == "n1"]
    assert (n1.days_in_stage, n1.limit_days) == (41, 14)


def test_unit_funnels_follow_the_owner_membership_on_the_event_day() -> None:
    e = Events()
    events = [
        *team(e),
        e.unit("t2", "team", "c"),
        e.created("r1", "2026-11-02", "o1", 100),
        e.won("r1", "2026-11-10", "o1", 100),
        e.transfer("r1", "t2", "2026-11-16"),
        e.created("r1", "2026-11-20", "o2", 300),
    ]
    rm = build_oracle(events, CTX)
    t1 = funnel(rm, KPIS, "unit:t1", "2026-11", END_OF_NOVEMBER, UTC)
    t2 = funnel(rm, KPIS, "unit:t2", "2026-11", END_OF_NOVEMBER, UTC)
    assert (t1.stats.new_opportunities, t1.stats.won, t1.stats.open_count) == (1, 1, 0)
    assert (t2.stats.new_opportunities, t2.stats.won, t2.stats.open_count) == (1, 0, 1)
    assert t1.peers == ("unit:t2",)


def test_velocity_comes_from_the_exact_win_rate_not_a_rounded_one() -> None:
    # 1 won of 3 closed (1/3), for 3600 after 30 days; 10 open deals:
    # 10 x 1/3 x 3600 / 30 x 30 = 12,000 exactly (0.3333 gave 11,998.80).
    e = Events()
    events = [
        e.created("r1", "2026-10-02", "w1", 3600),
        e.won("r1", "2026-11-01", "w1", 3600),
        e.created("r1", "2026-10-05", "l1", 10),
        e.lost("r1", "2026-11-03", "l1"),
        e.created("r1", "2026-10-05", "l2", 10),
        e.lost("r1", "2026-11-04", "l2"),
        *(e.created("r1", "2026-11-20", f"o{i}", 100) for i in range(10)),
    ]
    rm = build_oracle([*team(e), *events], CTX)
    stats = funnel(rm, KPIS, "rep:r1", "2026-11", END_OF_NOVEMBER, UTC).stats
    assert stats.win_rate == Decimal("0.3333") and stats.avg_cycle_days == 30
    assert stats.velocity_per_month == Decimal("12000.00")
