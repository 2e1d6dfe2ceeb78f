"""A candidate KPI version's effects, hand-worked on the floor of tests/support/people.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, load_kpis
from projections.queries.version_effects import version_effects
from tests.support.builders import Events
from tests.support.people import floor_history

V2 = Path(__file__).resolve().parents[2] / "examples" / "kpis" / "v2_revised.toml"
AFTER_NOVEMBER = datetime(2026, 12, 1, 8, tzinfo=UTC)


def test_revenue_at_payment_and_a_visit_rule_show_as_completions_ranks_and_rule_misses() -> None:
    # given November (orders, no payments; r2 made 2 visits, the others 15) under v1 and v2
    events = floor_history(Events(), "2026-11", datetime(2026, 11, 10, 10, tzinfo=UTC))
    v1, v2 = default_kpis(), load_kpis(V2)
    a, c = build_oracle(events, FoldContext(v1)), build_oracle(events, FoldContext(v2))
    fx = version_effects(a, v1, c, v2, "2026-11", AFTER_NOVEMBER, UTC)

    # revenue counted at payment: every rep's revenue completion falls to 0
    revenue = {x.rep_id: x for x in fx.completion if x.metric == "revenue"}
    assert sorted(revenue) == ["r1", "r2", "r3", "r4"]
    assert (revenue["r1"].before, revenue["r1"].after) == (Decimal("1.0333"), Decimal(0))
    assert fx.completion[0].rep_id == "r4"  # 125 % -> 0: the largest move first
    # all at 0, everyone ties first: r3 stays 1st, the others move up
    moves = {x.rep_id: (x.before, x.after) for x in fx.ranks if x.metric == "revenue"}
    assert moves == {"r1": (2, 1), "r4": (3, 1), "r2": (4, 1)}
    # the new rule "visits >= 12 per month per rep" puts r2 under it; the f2f rule is unchanged
    rules = {r.rule: r for r in fx.rules}
    new = rules["visits >= 12 per month per rep"]
    assert (new.missing_before, new.missing_after, new.newly_missing) == (None, 1, ("r2",))
    f2f = rules["f2f_visits >= 15 per month per rep"]
    assert (f2f.missing_before, f2f.missing_after, f2f.newly_missing) == (1, 1, ())
    # and the company's revenue difference is among the largest changes
    company = next(x for x in fx.changes if x.scope == "company" and x.metric == "revenue")
    assert company.difference == Decimal(-9500)
