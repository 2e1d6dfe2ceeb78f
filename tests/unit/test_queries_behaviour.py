"""Behaviour compliance: the f2f seed example and the rule arithmetic around it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.behaviour import behaviour
from tests.support.builders import Events

KPIS = default_kpis()


def history(e: Events) -> list:
    # November 2026 has 30 days. r1 made 12 face-to-face visits by the 20th (plus phone
    # visits, which do not count), and one more on the 22nd, after the as-of day.
    f2f = [e.visit("r1", f"2026-11-{d:02d}T10:00") for d in range(1, 13)]
    phone = [e.visit("r1", f"2026-11-{d:02d}T11:00", f2f=False) for d in range(1, 5)]
    return [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
        *f2f,
        *phone,
        e.visit("r1", "2026-11-22"),
    ]


@pytest.mark.parametrize(
    "as_of", [datetime(2026, 11, 20, 18, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)]
)
def test_seed_12_of_15_f2f_visits_by_the_end_of_the_20th(as_of: datetime) -> None:
    rm = build_oracle(history(Events()), FoldContext(KPIS))
    report = behaviour(rm, KPIS, "rep:r1", "2026-11", as_of, UTC)
    (status,) = report.lines
    assert status.rule == "f2f_visits >= 15 per month per rep"
    assert (status.actual, status.required, status.remaining) == (12, 15, 3)
    assert status.days_left == 10
    assert status.needed_per_day == Decimal("0.3")
    assert status.compliant is False and status.prorated is False


def test_a_team_scope_lists_each_rep_of_the_team() -> None:
    rm = build_oracle(history(Events()), FoldContext(KPIS))
    report = behaviour(rm, KPIS, "unit:t1", "2026-11", datetime(2026, 11, 20, 18, tzinfo=UTC), UTC)
    assert [(s.subject, s.actual, s.remaining) for s in report.lines] == [
        ("rep:r1", 12, 3),
        ("rep:r2", 0, 15),
    ]
    assert report.lines[1].needed_per_day == Decimal("1.5")


def test_needed_per_day_rounds_up_and_is_none_once_the_period_is_over() -> None:
    rm = build_oracle(history(Events()), FoldContext(KPIS))
    # As of the 24th: 13 done, 2 remaining over 6 days = 0.333... -> 0.34 (never understated).
    (s,) = behaviour(
        rm, KPIS, "rep:r1", "2026-11", datetime(2026, 11, 24, 12, tzinfo=UTC), UTC
    ).lines
    assert (s.actual, s.remaining, s.days_left, s.needed_per_day) == (13, 2, 6, Decimal("0.34"))
    (s,) = behaviour(rm, KPIS, "rep:r1", "2026-11", datetime(2026, 12, 5, tzinfo=UTC), UTC).lines
    assert (s.days_left, s.needed_per_day) == (0, None)


def test_a_monthly_rule_over_a_week_is_prorated_by_days() -> None:
    rm = build_oracle(history(Events()), FoldContext(KPIS))
    # ISO week 2026-W45 is Nov 2..8: 7 of November's 30 days -> 15 x 7 / 30 = 3.5.
    (s,) = behaviour(rm, KPIS, "rep:r1", "2026-W45", datetime(2026, 11, 9, tzinfo=UTC), UTC).lines
    assert (s.required, s.prorated, s.actual, s.compliant) == (Decimal("3.5"), True, 7, True)
