"""POST /api/events: validation shared with `produce`, partial acceptance, locks, publishing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.support.api import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def visit(event_id: str, **data: Any) -> dict[str, Any]:
    body = {
        "visit_id": "v-1",
        "account_id": "a-9",
        "visit_type": "planned",
        "duration_min": 40,
        "face_to_face": True,
        "key_account": False,
    }
    return {
        "event_id": event_id,
        "type": "VisitCompleted",
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "rep_id": "r1",
        "data": body | data,
    }


def order(event_id: str, amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "OrderSigned",
        "occurred_at": "2026-11-03T09:30:00+00:00",
        "rep_id": "r1",
        "data": {"order_id": "o-1", "account_id": "a-1", "amount": amount, "currency": currency},
    }


def target(event_id: str, scope: str, period: str = "2026-11") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "TargetSet",
        "occurred_at": "2026-11-03T09:30:00+00:00",
        "data": {"scope": scope, "metric": "revenue", "period": period, "value": "100"},
    }


ID1 = "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11"
ID2 = "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b12"
ID3 = "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b13"


def test_one_event_is_accepted_and_published(world: World) -> None:
    response = world.post("/api/events", json=visit(ID1), who="producer")
    assert response.status_code == 202
    assert response.json() == {"accepted": [ID1], "rejected": [], "warnings": []}
    assert [str(e.event_id) for e in world.publisher.published] == [ID1]


def test_a_list_with_one_bad_event_accepts_the_others_and_names_the_bad_field(
    world: World,
) -> None:
    events = [visit(ID1), visit(ID2, visit_type="teleport"), visit(ID3)]
    body = world.post("/api/events", json=events, who="producer").json()
    assert body["accepted"] == [ID1, ID3]
    assert len(body["rejected"]) == 1
    bad = body["rejected"][0]
    assert (bad["index"], bad["event_id"]) == (1, ID2)
    assert bad["errors"][0]["field"] == "data.visit_type"
    assert [str(e.event_id) for e in world.publisher.published] == [ID1, ID3]


def test_a_request_whose_events_were_all_rejected_is_422_listing_each(world: World) -> None:
    events = [visit(ID1, visit_type="teleport"), order(ID2, "5", "EUR")]
    response = world.post("/api/events", json=events, who="producer")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["error"] == "every event was rejected (2)"
    assert [(r["index"], r["errors"][0]["field"]) for r in detail["rejected"]] == [
        (0, "data.visit_type"),
        (1, "data.currency"),
    ]
    assert world.publisher.published == []
    # one good event among them is enough for a 202
    assert world.post("/api/events", json=[*events, visit(ID3)]).status_code == 202


def test_rejections_cover_missing_ids_duplicates_and_unconvertible_currencies(
    world: World,
) -> None:
    no_id = visit(ID1)
    del no_id["event_id"]
    events = [no_id, order(ID2, "10.00"), order(ID2, "10.00"), order(ID3, "5", "EUR"), "oops"]
    body = world.post("/api/events", json=events).json()
    assert body["accepted"] == [ID2]
    assert [(r["index"], r["errors"][0]["field"]) for r in body["rejected"]] == [
        (0, "event_id"),
        (2, "event_id"),  # duplicate of event 1 in the same request
        (3, "data.currency"),
        (4, ""),
    ]
    assert "no exchange rate from EUR" in body["rejected"][2]["errors"][0]["reason"]


def test_amounts_sent_as_json_numbers_stay_exact_decimals(world: World) -> None:
    raw = json.dumps(order(ID1, 0)).replace('"amount": 0', '"amount": 12500.10')
    response = world.post("/api/events", content=raw)
    assert response.status_code == 202
    amount = world.publisher.published[0].data.amount  # type: ignore[attr-defined]
    assert amount == Decimal("12500.10") and str(amount) == "12500.1000"  # the wire scale


def test_invalid_json_is_400_naming_the_body(world: World) -> None:
    response = world.post(
        "/api/events", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]["parameter"] == "body"
    assert "invalid JSON" in response.json()["detail"]["error"]
    nan = world.post("/api/events", content=b'{"x": NaN}')
    assert nan.status_code == 400 and "NaN" in nan.json()["detail"]["error"]


def test_a_target_set_for_locked_targets_is_rejected_unless_an_admin_overrides(
    world: World,
) -> None:
    # given unit:t2's 2026-11 targets were locked
    body = world.post("/api/events", json=[target(ID1, "unit:t2"), target(ID2, "unit:t1")]).json()
    assert body["accepted"] == [ID2]
    assert body["rejected"][0]["index"] == 0
    assert "locked" in body["rejected"][0]["errors"][0]["reason"]
    # when an admin overrides, it goes through
    again = world.post("/api/events?override_locks=true", json=target(ID1, "unit:t2")).json()
    assert again == {"accepted": [ID1], "rejected": [], "warnings": []}


def test_a_lock_earlier_in_the_same_request_applies_to_later_targets(world: World) -> None:
    lock = {
        "event_id": ID1,
        "type": "TargetsLocked",
        "occurred_at": "2026-11-03T09:00:00+00:00",
        "data": {"scope": "unit:t1", "period": "2026-12"},
    }
    body = world.post("/api/events", json=[lock, target(ID2, "unit:t1", "2026-12")]).json()
    assert body["accepted"] == [ID1] and body["rejected"][0]["index"] == 1


def test_only_an_admin_may_override_locks(world: World) -> None:
    response = world.post(
        "/api/events?override_locks=true", json=target(ID1, "unit:t2"), who="producer"
    )
    assert response.status_code == 403
    assert response.json()["detail"]["parameter"] == "override_locks"


@pytest.mark.parametrize(("who", "status"), [("manager_d1", 403), ("rep_r1", 403), (None, 401)])
def test_only_producers_and_admins_ingest(world: World, who: str | None, status: int) -> None:
    assert world.post("/api/events", json=visit(ID1), who=who).status_code == status
    assert world.publisher.published == []


def test_kafka_failing_is_503_with_retry_after(world: World) -> None:
    world.publisher.fail = "broker down"
    response = world.post("/api/events", json=visit(ID1))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "broker down" in response.json()["detail"]["error"]


def test_too_many_events_in_one_request_is_413(world: World) -> None:
    response = world.post("/api/events", json=[{}] * 10_001)
    assert response.status_code == 413


def test_ingest_counts_show_in_metrics(world: World) -> None:
    world.post("/api/events", json=[visit(ID1), {"type": "Nope"}])
    text = world.get("/metrics").text
    assert 'salespulse_ingest_events_total{outcome="accepted"} 1' in text
    assert 'salespulse_ingest_events_total{outcome="rejected"} 1' in text
