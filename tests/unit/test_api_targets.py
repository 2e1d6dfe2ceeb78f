"""POST /api/targets/split, target history and locks over HTTP (the in-memory world).

The world (tests/support/api.py): co -> d1 -> (t1: r1, r2, r3; t2: r4), co -> d2 -> t3: r5;
November targets rep:r1 1200, unit:t1 2000, company 5000; unit:t2's November is locked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.api import World, make_world
from tests.support.builders import Events

T1_REPS = {"scope": "unit:t1", "metric": "revenue", "period": "2026-11", "into": "reps"}
D1_TEAMS = {"scope": "unit:d1", "metric": "revenue", "period": "2026-11", "into": "children"}
LOCK_ID = "00000000-0000-0000-0000-000000000011"  # the 17th event of the history


@pytest.fixture
def world() -> World:
    return make_world()


def split(world: World, body: dict[str, Any], query: str = "", who: str = "admin") -> Any:
    return world.post(f"/api/targets/split{query}", json=body, who=who)


def project_published(world: World) -> None:
    """What the worker would do with what the API published."""
    for event in world.publisher.published:
        world.projection.apply_event(event)


def test_a_preview_reads_the_reps_from_the_projections_and_publishes_nothing(
    world: World,
) -> None:
    response = split(world, {**T1_REPS, "value": "2000"}, "?preview=true")
    assert response.status_code == 200
    body = response.json()
    # 200,000 cents over r1, r2, r3: 66,666 each and 2 spare cents to the later two.
    assert [(a["scope"], a["value"]) for a in body["allocations"]] == [
        ("rep:r1", "666.66"),
        ("rep:r2", "666.67"),
        ("rep:r3", "666.67"),
    ]
    assert (body["preview"], body["published"], body["total"]) == (True, 0, "2000")
    assert world.publisher.published == []


def test_a_split_publishes_children_with_lineage_and_a_repeat_publishes_nothing(
    world: World,
) -> None:
    first = split(world, {**T1_REPS, "value": "2000"})
    assert first.status_code == 202 and first.json()["published"] == 3
    events = world.publisher.published
    decomposition = first.json()["decomposition_id"]
    assert {str(e.data.decomposition_id) for e in events} == {decomposition}  # type: ignore[attr-defined]
    assert {e.data.set_by for e in events} == {"admin #0"}  # type: ignore[attr-defined]
    project_published(world)

    again = split(world, {**T1_REPS, "value": "2000.00"})  # the same request, written otherwise

    assert again.status_code == 200
    assert (again.json()["published"], again.json()["already_published"]) == (0, 3)
    assert (
        again.json()["message"] == f"decomposition {decomposition} already published: 0 new events"
    )
    assert len(world.publisher.published) == 3
    history = world.get("/api/targets/history?scope=rep:r2&metric=revenue&period=2026-11").json()
    assert history["entries"][-1] | {"at": None} == {
        "value": "666.67",
        "at": None,
        "event_id": str(events[1].event_id),
        "set_by": "admin #0",
        "decomposition_id": decomposition,
        "override": False,
        "refused_by_lock": False,
    }


def test_a_split_over_a_locked_child_is_409_naming_the_lock_unless_an_admin_overrides(
    world: World,
) -> None:
    refused = split(world, {**D1_TEAMS, "value": "3000"})
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert detail["lock"]["event_id"] == LOCK_ID and detail["lock"]["scope"] == "unit:t2"
    assert f"locked by TargetsLocked {LOCK_ID}" in detail["error"]
    assert "?override_locks=true" in detail["error"]
    assert world.publisher.published == []

    forced = split(world, {**D1_TEAMS, "value": "3000"}, "?override_locks=true")

    assert forced.status_code == 202
    by_scope = {e.data.scope: e.data for e in world.publisher.published}  # type: ignore[attr-defined]
    assert (by_scope["unit:t2"].override, by_scope["unit:t1"].override) == (True, False)
    project_published(world)
    history = world.get("/api/targets/history?scope=unit:t2&metric=revenue&period=2026-11").json()
    assert history["locked"] is True and history["locks"][0]["event_id"] == LOCK_ID
    assert [(e["value"], e["override"]) for e in history["entries"]] == [("1500", True)]


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("manager_d1", T1_REPS, 200),  # t1 lies in the manager's d1
        ("manager_t2", T1_REPS, 403),
        ("manager_d1", {**T1_REPS, "scope": "company", "into": "children"}, 403),
        ("rep_r1", T1_REPS, 403),
        ("producer", T1_REPS, 403),
    ],
)
def test_admins_and_managers_of_the_scope_may_split(
    world: World, who: str, body: dict[str, Any], status: int
) -> None:
    response = split(world, {**body, "value": "100"}, "?preview=true", who=who)
    assert response.status_code == status, response.text


def test_only_an_admin_may_override_locks_on_a_split(world: World) -> None:
    response = split(world, {**D1_TEAMS, "value": "1"}, "?override_locks=true", who="manager_d1")
    assert response.status_code == 403
    assert response.json()["detail"]["parameter"] == "override_locks"


def test_a_split_that_cannot_be_made_is_422_naming_the_problem(world: World) -> None:
    bad_mode = split(world, {**T1_REPS, "value": "1", "by": "days"})
    assert bad_mode.status_code == 422 and "does not apply" in bad_mode.json()["detail"]["error"]
    not_whole = split(world, {**T1_REPS, "value": "0.005"})
    assert not_whole.status_code == 422 and "whole multiple" in not_whole.json()["detail"]["error"]
    no_reference = split(world, {**T1_REPS, "value": "9", "by": "share"})
    assert no_reference.json()["detail"]["parameter"] == "reference_period"


def test_a_lone_target_set_under_a_units_lock_is_409_for_a_rep_below_it(world: World) -> None:
    # r4 is in t2, whose November is locked: the lock covers the unit's reps too.
    event = {
        "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b99",
        "type": "TargetSet",
        "occurred_at": "2026-11-03T09:30:00+00:00",
        "data": {"scope": "rep:r4", "metric": "revenue", "period": "2026-11", "value": "10"},
    }
    response = world.post("/api/events", json=event)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail["parameter"] == "data.period" and detail["lock"]["event_id"] == LOCK_ID
    assert detail["rejected"][0]["event_id"] == event["event_id"]
    accepted = world.post("/api/events?override_locks=true", json=event).json()
    assert accepted["accepted"] == [event["event_id"]]
    assert world.publisher.published[0].data.override is True  # type: ignore[attr-defined]


def test_goals_show_what_the_children_were_given(world: World) -> None:
    t1 = world.get("/api/goals?scope=unit:t1&period=2026-11").json()["metrics"]
    revenue = next(m for m in t1 if m["metric"] == "revenue")
    # r1 has 1,200 of t1's 2,000; r2 and r3 have no target yet.
    assert (revenue["allocated"], revenue["unallocated"]) == ("1200", "800")
    assert revenue["allocated_over_time"] is None
    r1 = world.get("/api/goals?scope=rep:r1&period=2026-11").json()["metrics"]
    assert {(m["allocated"], m["unallocated"]) for m in r1} == {(None, None)}


def test_the_history_reports_a_target_set_the_fold_refused_for_coming_after_its_lock() -> None:
    e = Events(first_id=80_000)
    at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    extra = [
        e.target("unit:t1", "calls", "2026-12", 10, at=at),
        e.lock("unit:t1", "2026-12", at=at.replace(hour=10)),
        e.target("unit:t1", "calls", "2026-12", 99, at=at.replace(hour=10, microsecond=14000)),
    ]
    world = make_world(extra=extra)
    body = world.get("/api/targets/history?scope=unit:t1&metric=calls&period=2026-12").json()
    assert [(x["value"], x["refused_by_lock"]) for x in body["entries"]] == [
        ("10", False),
        ("99", True),
    ]
    assert body["current"]["value"] == "10"
