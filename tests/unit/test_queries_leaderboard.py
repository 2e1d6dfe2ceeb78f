"""Leaderboard competition ranking with ties by who reached the value first; team contests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.queries.leaderboard import contest, leaderboard
from tests.support.builders import Events

KPIS = default_kpis()
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def history() -> list:
    e = Events()
    return [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.unit("t2", "team", "c"),
        *(e.join(r, "t1") for r in ("r1", "r2", "r3", "r4")),
        e.join("r5", "t2"),
        e.join("r6", "t2"),
        # r1 and r2 both reach 500; r2 got there first (the 5th against the 10th).
        e.order("r1", "2026-11-10T10:00", 500),
        e.order("r2", "2026-11-01T10:00", 300),
        e.order("r2", "2026-11-05T10:00", 200),
        e.order("r3", "2026-11-02T10:00", 300),
        e.order("r5", "2026-11-03T10:00", 400),
        e.target("rep:r1", "revenue", "2026-11", 1000),
        e.target("unit:t1", "revenue", "2026-11", 2000),
    ]


def test_competition_ranking_lists_who_reached_the_value_first_first() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    board = leaderboard(rm, "revenue", "2026-11", AS_OF, UTC, scope="unit:t1")
    assert [(x.rank, x.rep_id, x.value) for x in board.entries] == [
        (1, "r2", 500),
        (1, "r1", 500),
        (3, "r3", 300),
        (4, "r4", 0),
    ]
    assert board.entries[0].reached_at == datetime(2026, 11, 5, 10, tzinfo=UTC)
    assert (board.entries[1].target, board.entries[1].completion) == (1000, Decimal("0.5"))
    assert (board.team_total, board.team_target, board.team_completion) == (
        1300,
        2000,
        Decimal("0.65"),
    )


def test_limit_keeps_the_team_total_of_everyone() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    board = leaderboard(rm, "revenue", "2026-11", AS_OF, UTC, limit=2)
    assert [x.rep_id for x in board.entries] == ["r2", "r1"] and board.team_total == 1700


def test_contest_per_unit_total_headcount_per_capita_and_leader() -> None:
    rm = build_oracle(history(), FoldContext(KPIS))
    result = contest(rm, "revenue", "2026-11", ["t2", "t1"], AS_OF, UTC)
    assert [(c.unit_id, c.total, c.headcount, c.per_capita, c.leader) for c in result.entries] == [
        ("t1", 1300, 4, 325, "r2"),
        ("t2", 400, 2, 200, "r5"),
    ]


def test_contest_per_capita_counts_a_rep_who_left_for_the_days_they_were_there() -> None:
    # t1: 2 reps all November, 600 each. t2: 3 reps, 500 each, but r5 left after the 15th.
    # Before the fix t2 was 1500 / 2 = 750 per head and won; on one basis (member-days),
    # t2 has 2.5 average heads: 600 per head, a tie with t1, not a win.
    e = Events()
    events = [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.unit("t2", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t1"),
        *(e.join(r, "t2") for r in ("r3", "r4", "r5")),
        *(e.order(r, "2026-11-03T10:00", 600) for r in ("r1", "r2")),
        *(e.order(r, "2026-11-03T10:00", 500) for r in ("r3", "r4", "r5")),
        e.leave("r5", "2026-11-15T18:00"),
    ]
    rm = build_oracle(events, FoldContext(KPIS))
    result = contest(rm, "revenue", "2026-11", ["t1", "t2"], AS_OF, UTC)
    by_unit = {c.unit_id: c for c in result.entries}
    assert (by_unit["t2"].total, by_unit["t2"].headcount) == (1500, 2)
    assert by_unit["t2"].average_headcount == Decimal("2.5")
    assert by_unit["t2"].per_capita == by_unit["t1"].per_capita == 600
