"""Duplicate deals (撞单) and correction warnings, by hand, through the HTTP API over the oracle."""

from __future__ import annotations

from typing import Any

from tests.support.api import make_world
from tests.support.builders import Events

URL = "/api/conflicts?scope=company&period=2026-11"
E = Events(first_id=10_000)


def _event(type_: str, rep: str, **data: Any) -> dict[str, Any]:
    return E(type_, "2026-11-20T10:00", rep, **data).model_dump(mode="json", exclude_none=True)


def test_a_deal_created_on_an_account_with_another_reps_open_deal_is_a_conflict() -> None:
    # Given r1's o1 on account a1 (created the 2nd, won the 12th) and r4's o2 on a1 created
    # the 6th, while o1 was open: one conflict, unresolved.
    body = make_world().get(URL).json()
    assert body["conflicts"] == [
        {
            "account_id": "a1",
            "opportunity_id": "o2",
            "rep_id": "r4",
            "unit_id": "t2",
            "amount": "300",
            "other_opportunity_id": "o1",
            "other_rep_id": "r1",
            "other_unit_id": "t1",
            "other_amount": "800",
            "at": "2026-11-06T09:00:00Z",
            "resolved": False,
            "resolved_by": None,
        }
    ]


def test_a_credit_assignment_or_a_loss_resolves_it_and_a_deal_after_the_win_is_none() -> None:
    credit = E.credit("r4", "2026-11-15", {"r1": "0.5", "r4": "0.5"}, opp="o2")
    (conflict,) = make_world(extra=[credit]).get(URL).json()["conflicts"]
    assert (conflict["resolved"], conflict["resolved_by"]) == (True, "credit")
    lost = E.lost("r4", "2026-11-16", "o2")
    (conflict,) = make_world(extra=[lost]).get(URL).json()["conflicts"]
    assert (conflict["resolved"], conflict["resolved_by"]) == (True, "lost")
    # r5's deal on a1 created after o1 was won, while o2 was open: a second conflict (with o2)
    later = E.created("r5", "2026-11-20", "o3", 50)
    found = make_world(extra=[later]).get(URL).json()["conflicts"]
    assert [(c["opportunity_id"], c["other_opportunity_id"]) for c in found] == [
        ("o2", "o1"),
        ("o3", "o2"),
    ]


def test_managers_see_their_subtrees_conflicts_and_reps_their_own() -> None:
    world = make_world()
    got = {
        (scope, who): len(
            world.get(f"/api/conflicts?scope={scope}&period=2026-11", who=who)
            .json()
            .get("conflicts", [])
        )
        for scope, who in [("unit:t2", "manager_t2"), ("rep:r1", "rep_r1"), ("unit:t3", "admin")]
    }
    assert got == {("unit:t2", "manager_t2"): 1, ("rep:r1", "rep_r1"): 1, ("unit:t3", "admin"): 0}


def test_posting_a_duplicate_deal_or_an_unknown_correction_warns_and_a_stranger_is_refused() -> (
    None
):
    world = make_world()
    events = [
        _event("OpportunityCreated", "r2", opportunity_id="o9", account_id="a1", amount="10",
               currency="USD", product_line="core", stage="prospecting",
               expected_close="2026-12-20"),
        _event("OrderCancelled", "r2", order_id="nope", reason="x"),
        _event("CreditAssigned", "r2", order_id="nope", shares=[{"rep_id": "zed", "share": "1"}]),
    ]  # fmt: skip
    response = world.post("/api/events", json=events)
    body = response.json()
    assert response.status_code == 202
    assert body["accepted"] == [events[0]["event_id"], events[1]["event_id"]]
    assert [(w["index"], w["field"]) for w in body["warnings"]] == [
        (0, "data.account_id"),
        (1, "data.order_id"),
    ]
    assert "o2 of r4" in body["warnings"][0]["reason"] and "撞单" in body["warnings"][0]["reason"]
    assert body["rejected"][0]["errors"] == [
        {"field": "data.shares.0.rep_id", "reason": "unknown rep 'zed'"}
    ]


def test_a_share_for_a_rep_who_joined_earlier_in_the_same_input_is_accepted() -> None:
    # Given one request that first has a rep join (not projected yet) and then credits them,
    # and a share for a rep nobody knows
    joined = E.join("r9", "t1", at="2026-11-19").model_dump(mode="json", exclude_none=True)
    credit = _event(
        "CreditAssigned",
        "r1",
        order_id="ord-1",
        shares=[{"rep_id": "r9", "share": "0.5"}, {"rep_id": "r1", "share": "0.5"}],
    )
    ghost = _event("CreditAssigned", "r1", order_id="ord-1",
                   shares=[{"rep_id": "r8", "share": "1"}])  # fmt: skip
    # When it is posted
    body = make_world().post("/api/events", json=[joined, credit, ghost]).json()
    # Then the joiner's share passes the edge and only the stranger's is refused
    assert body["accepted"] == [joined["event_id"], credit["event_id"]]
    assert body["rejected"][0]["errors"] == [
        {"field": "data.shares.0.rep_id", "reason": "unknown rep 'r8'"}
    ]
