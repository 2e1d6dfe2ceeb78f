"""Membership at event time, at day granularity: spans of reps for unit scopes."""

from __future__ import annotations

from datetime import date

from projections.memory.oracle import build_oracle
from projections.model.context import default_context
from projections.model.readmodel import RepSpan
from projections.model.scopes import scope_spans, subtree, unit_on
from schemas.periods import Scope
from tests.support.builders import Events

NOV = (date(2026, 11, 1), date(2026, 12, 1))


def org(e: Events) -> list:
    return [
        e.unit("c", "company", None),
        e.unit("d1", "department", "c"),
        e.unit("t1", "team", "d1"),
        e.unit("t2", "team", "d1"),
        e.unit("t3", "team", "c"),
    ]


def test_the_subtree_of_a_unit_is_the_unit_and_everything_below() -> None:
    rm = build_oracle(org(Events()), default_context())
    assert subtree(rm.units(), "d1") == {"d1", "t1", "t2"}
    assert subtree(rm.units(), "c") == {"c", "d1", "t1", "t2", "t3"}


def test_the_last_change_of_a_day_holds_for_that_whole_day() -> None:
    e = Events()
    events = [
        *org(e),
        e.join("r1", "t1", at="2026-01-01"),
        e.transfer("r1", "t2", "2026-11-16T09:00"),
        e.transfer("r1", "t3", "2026-11-16T15:00"),  # the same day, later: wins the 16th
    ]
    rep = build_oracle(events, default_context()).reps()["r1"]
    assert unit_on(rep, date(2026, 11, 15)) == "t1"
    assert unit_on(rep, date(2026, 11, 16)) == "t3"


def test_a_rep_leaving_still_counts_on_the_leaving_day() -> None:
    e = Events()
    rm = build_oracle(
        [*org(e), e.join("r1", "t1"), e.leave("r1", "2026-11-10T17:00")], default_context()
    )
    assert scope_spans(Scope("unit", "t1"), rm.units(), rm.reps(), *NOV) == [
        RepSpan("r1", date(2026, 11, 1), date(2026, 11, 11))
    ]


def test_moves_inside_a_subtree_make_one_span_and_moves_out_split_it() -> None:
    e = Events()
    events = [
        *org(e),
        e.join("r1", "t1"),
        e.transfer("r1", "t2", "2026-11-10"),  # still inside d1
        e.transfer("r1", "t3", "2026-11-20"),  # out of d1
        e.transfer("r1", "t1", "2026-11-25"),  # back
    ]
    rm = build_oracle(events, default_context())
    assert scope_spans(Scope("unit", "d1"), rm.units(), rm.reps(), *NOV) == [
        RepSpan("r1", date(2026, 11, 1), date(2026, 11, 20)),
        RepSpan("r1", date(2026, 11, 25), date(2026, 12, 1)),
    ]
    assert scope_spans(Scope("unit", "t3"), rm.units(), rm.reps(), *NOV) == [
        RepSpan("r1", date(2026, 11, 20), date(2026, 11, 25))
    ]


def test_the_company_counts_every_known_rep_for_the_whole_period() -> None:
    e = Events()
    rm = build_oracle(
        [*org(e), e.join("r2", "t3", at="2026-11-20"), e.join("r1", "t1")], default_context()
    )
    assert scope_spans(Scope("company"), rm.units(), rm.reps(), *NOV) == [
        RepSpan("r1", *NOV),
        RepSpan("r2", *NOV),
    ]
