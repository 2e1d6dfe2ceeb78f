"""The bad-input corpus against POST /api/events: each a 4xx naming the field, none a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request

from salespulse.api.body import read_capped
from salespulse.api.errors import ApiError
from tests.support.api import make_world
from tests.support.bad_inputs import GOOD_ID, corpus, good_line, visit

CASES = corpus()


@pytest.mark.parametrize(("name", "line", "field"), CASES, ids=[c[0] for c in CASES])
def test_post_events_refuses_each_bad_input_by_field_and_keeps_the_good_one(
    name: str, line: bytes, field: str
) -> None:
    world = make_world()
    body = b"[" + line + b"," + good_line() + b"]"
    response = world.post("/api/events", content=body, headers={"Content-Type": "application/json"})
    if field == "":  # the body as a whole cannot be read: nothing is accepted
        assert response.status_code == 400, response.text
        assert world.publisher.published == []
        return
    assert response.status_code == 202, response.text
    out = response.json()
    assert out["accepted"] == [GOOD_ID]
    assert [e["field"] for e in out["rejected"][0]["errors"]] == [field], out
    assert [str(e.event_id) for e in world.publisher.published] == [GOOD_ID]


def test_a_body_over_the_cap_is_refused_while_it_is_read() -> None:
    # A 200 MiB body without Content-Length, arriving 1 MiB at a time.
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * 2**20, "more_body": received < 200}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(ApiError) as refused:
        asyncio.run(read_capped(request, 8 * 2**20))
    assert refused.value.status_code == 413
    assert received == 9  # stopped at the first MiB past the cap, not after 200


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    world = make_world()
    body = json.dumps([visit(GOOD_ID, data={"account_id": "a" * 100})] * 30_000)
    response = world.post("/api/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and world.publisher.published == []


@pytest.mark.parametrize("url", ["/api/targets/history?metric=%00", "/api/reps/r%00/daily"])
def test_a_nul_in_a_parameter_is_a_422_not_a_500(url: str) -> None:
    assert make_world().get(url).status_code == 422


def test_a_producer_token_cannot_choose_who_set_a_target_or_when_it_was_recorded() -> None:
    world = make_world()
    target = {
        "event_id": GOOD_ID, "type": "TargetSet", "occurred_at": "2026-11-03T09:30:00Z",
        "recorded_at": "2020-01-01T00:00:00Z", "source": "finance",
        "data": {"scope": "company", "metric": "revenue", "period": "2026-12", "value": "5",
                 "set_by": "CFO (admin)"},
    }  # fmt: skip
    assert world.post("/api/events", who="producer", json=target).status_code == 202
    (event,) = world.publisher.published
    assert event.data.set_by != "CFO (admin)"  # type: ignore[union-attr]
    assert event.source is not None and event.source.startswith("http-api:")
    assert event.recorded_at is None  # the publisher stamps it when it sends


def test_an_admin_may_state_another_author() -> None:
    world = make_world()
    target = {
        "event_id": GOOD_ID, "type": "TargetSet", "occurred_at": "2026-11-03T09:30:00Z",
        "data": {"scope": "company", "metric": "revenue", "period": "2026-12", "value": "5",
                 "set_by": "CFO"},
    }  # fmt: skip
    assert world.post("/api/events", json=target).status_code == 202
    assert world.publisher.published[0].data.set_by == "CFO"  # type: ignore[union-attr]


def test_open_mode_refuses_a_foreign_host_and_a_cross_origin_write() -> None:
    world = make_world(open_mode=True)
    rebinding = world.get("/api/goals?scope=company", who=None, headers={"Host": "evil.example"})
    assert rebinding.status_code == 403
    cross = world.post(
        "/api/events", who=None, content=good_line(),
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
    )  # fmt: skip
    assert cross.status_code == 403 and world.publisher.published == []
    own = world.post(
        "/api/events", who=None, content=good_line(),
        headers={"Content-Type": "application/json", "Origin": "http://127.0.0.1:8000"},
    )  # fmt: skip
    assert own.status_code == 202


def test_a_resubmission_with_other_content_is_a_409_naming_the_event_id() -> None:
    world = make_world()
    original = visit(GOOD_ID)
    assert world.post("/api/events", json=original).status_code == 202
    # the same event resubmitted unchanged: harmless, accepted again
    assert world.post("/api/events", json=original).status_code == 202
    # before the fix: 202 again, and which copy counted depended on processing order
    changed = visit(GOOD_ID, rep_id="r2")
    response = world.post("/api/events", json=changed)
    assert response.status_code == 409, response.text
    assert GOOD_ID in response.json()["detail"]["error"]
    # in a batch with a good event: 202, the copy listed as rejected by its index
    fresh = visit(GOOD_ID[:-2] + "77")
    batch = world.post("/api/events", json=[changed, fresh]).json()
    assert batch["accepted"] == [fresh["event_id"]]
    assert [(r["index"], r["errors"][0]["field"]) for r in batch["rejected"]] == [(0, "event_id")]


def test_a_copy_of_an_event_the_projections_applied_is_checked_against_them() -> None:
    world = make_world()
    applied = next(e for e in world.events if e.type == "VisitCompleted")
    body = applied.model_dump(mode="json", exclude_none=True) | {"rep_id": "someone-else"}
    assert world.post("/api/events", json=body).status_code == 409
