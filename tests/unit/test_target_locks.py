"""Target locks: the subtree rule, and the one guard every edge runs TargetSets through."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.model.readmodel import TargetLock
from projections.targets.locks import LockBook, Refusal, TargetGuard, covers
from schemas.events import AnyEvent
from schemas.periods import parse_period, parse_scope
from tests.support.builders import Events

LOCKED_AT = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)


def org() -> InMemoryProjection:
    """co -> d1 -> (t1: r1; t2: r2), co -> d2 (r3); r4 moves t1 -> d2 on 16 Nov; r5 joins Dec."""
    e = Events()
    return build_oracle(
        [
            e.unit("co", "company", None),
            e.unit("d1", "department", "co"),
            e.unit("d2", "department", "co"),
            e.unit("t1", "team", "d1"),
            e.unit("t2", "team", "d1"),
            e.join("r1", "t1"),
            e.join("r2", "t2"),
            e.join("r3", "d2"),
            e.join("r4", "d2"),
            e.transfer("r4", "t1", "2026-11-16T09:00"),
            e.join("r5", "t1", at="2026-12-01"),
        ],
        FoldContext(default_kpis()),
    )


def lock(scope: str, period: str = "2026-11", n: int = 1) -> TargetLock:
    return TargetLock(scope, period, LOCKED_AT, UUID(int=900 + n), "admin Ana")


@pytest.mark.parametrize(
    ("locked", "target", "covered"),
    [
        ("company", "rep:r3", True),  # a company lock covers everything
        ("company", "unit:t2", True),
        ("unit:d1", "unit:d1", True),
        ("unit:d1", "unit:t2", True),  # a unit below
        ("unit:d1", "rep:r1", True),  # a rep of a unit below
        ("unit:d1", "rep:r4", True),  # in t1 from the 16th: in the subtree during the month
        ("unit:d1", "rep:r3", False),  # d2's rep
        ("unit:d1", "unit:d2", False),
        ("unit:d1", "company", False),  # the lock does not reach up
        ("unit:co", "company", True),  # the company unit stands for the company
        ("unit:t1", "rep:r5", False),  # joins t1 only in December
        ("rep:r1", "rep:r1", True),
        ("rep:r1", "unit:t1", False),
    ],
)
def test_a_lock_covers_its_scope_and_subtree_for_the_same_period(
    locked: str, target: str, covered: bool
) -> None:
    rm = org()
    month = parse_period("2026-11")
    assert covers(lock(locked), parse_scope(target), month, rm.units(), rm.reps()) is covered


def test_a_lock_covers_only_its_own_period() -> None:
    rm = org()
    for period in ("2026-12", "2026-Q4", "2026-W46", "2026"):
        assert not covers(lock("company"), parse_scope("rep:r1"), parse_period(period), {}, {})
    assert LockBook([lock("unit:d1")], rm.units(), rm.reps()).covering("rep:r4", "2026-10") is None


def test_the_earliest_covering_lock_is_named() -> None:
    rm = org()
    later = TargetLock("company", "2026-11", datetime(2026, 11, 2, tzinfo=UTC), UUID(int=1), None)
    book = LockBook([later, lock("unit:t1")], rm.units(), rm.reps())
    assert book.covering("rep:r1", "2026-11") == lock("unit:t1")


def target(e: Events, scope: str, **data: Any) -> AnyEvent:
    return e("TargetSet", "2026-11-05", scope=scope, metric="revenue", period="2026-11",
             value="100", **data)  # fmt: skip


def guard(rm: InMemoryProjection, **kw: Any) -> TargetGuard:
    return TargetGuard(lambda: LockBook([lock("unit:d1")], rm.units(), rm.reps()), **kw)


def test_given_a_lock_on_the_department_then_a_rep_target_below_it_is_refused_naming_it() -> None:
    e, rm = Events(), org()
    refusal = guard(rm, hint="ask an admin").check(target(e, "rep:r1"))
    assert isinstance(refusal, Refusal) and refusal.field == "data.period"
    assert refusal.lock == lock("unit:d1")
    assert refusal.reason == (
        "targets of rep:r1 for 2026-11 are locked by TargetsLocked "
        "00000000-0000-0000-0000-000000000385 (unit:d1 2026-11, locked by admin Ana at "
        "2026-10-31T18:00:00+00:00); ask an admin"
    )


def test_given_an_admin_override_then_it_is_stamped_as_one_with_the_admin_as_setter() -> None:
    e, rm = Events(), org()
    passed = guard(rm, override=True, set_by="admin Bo").check(target(e, "rep:r1", set_by="x"))
    assert not isinstance(passed, Refusal)
    assert (passed.data.override, passed.data.set_by) == (True, "admin Bo")  # type: ignore[attr-defined]
    # An unlocked target is not an override; it keeps a setter it names, or gets the caller.
    free = guard(rm, override=True, set_by="admin Bo").check(target(e, "rep:r3"))
    assert (free.data.override, free.data.set_by) == (False, "admin Bo")  # type: ignore[union-attr]


def test_an_override_flag_in_the_event_counts_only_from_an_admin() -> None:
    e, rm = Events(), org()
    event = target(e, "rep:r1", override=True)
    refusal = guard(rm, may_override=False).check(event)
    assert isinstance(refusal, Refusal) and refusal.field == "data.override"
    assert not isinstance(guard(rm, may_override=True).check(event), Refusal)


def test_a_lock_earlier_in_the_same_input_applies_to_later_targets() -> None:
    e, rm = Events(), org()
    g = TargetGuard(lambda: LockBook([], rm.units(), rm.reps()), set_by="cli:ops")
    stamped = g.check(e.lock("company", "2026-12", "2026-11-30"))
    assert stamped.data.set_by == "cli:ops"  # type: ignore[union-attr]
    december = e("TargetSet", "2026-11-30", scope="rep:r5", metric="calls", period="2026-12",
                 value="40")  # fmt: skip
    assert isinstance(g.check(december), Refusal)


def test_events_other_than_targets_pass_untouched_and_read_no_locks() -> None:
    e = Events()

    def no_reads() -> LockBook:
        raise AssertionError("no target event: the locks must not be read")

    call = e.call("r1", "2026-11-05T10:00")
    assert TargetGuard(no_reads).check(call) is call
