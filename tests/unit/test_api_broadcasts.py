"""Broadcasts: the recent list with cheer counts, cheering, and the server-sent event stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from projections.broadcasts.log import milestone_broadcast
from salespulse.api.routes_broadcasts import cheer_event_id
from salespulse.api.sse import ChangeHub, Frame, Generation, encode, parse_last_event_id
from tests.support.api import NOW, TOKENS, World, auth, make_world
from tests.support.builders import Events

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def world() -> World:
    return make_world()


def newest(world: World) -> str:
    return str(world.get("/api/broadcasts?limit=1").json()["broadcasts"][0]["broadcast_id"])


def cheer_in_projection(world: World, rep: str, broadcast_id: str) -> None:
    world.projection.apply_event(Events(first_id=90_000).cheer(rep, NOW, broadcast_id))


def test_recent_broadcasts_newest_first_with_rep_names_and_cheer_counts(world: World) -> None:
    cheer_in_projection(world, "r2", newest(world))
    body = world.get("/api/broadcasts?limit=3", who="rep_r1").json()["broadcasts"]
    assert [b["seq"] for b in body] == [7, 6, 5]
    won = body[0]
    assert (won["kind"], won["rep_name"], won["cheers"]) == ("deal_won", "R1", 1)
    assert won["payload"]["source"] == "OpportunityWon" and won["payload"]["amount"] == "800"


def test_a_rep_cheers_as_themselves_with_a_deterministic_event_id(world: World) -> None:
    bid = newest(world)
    response = world.post(f"/api/broadcasts/{bid}/cheers", who="rep_r1")
    assert response.status_code == 202
    assert response.json() == {
        "broadcast_id": bid,
        "rep_id": "r1",
        "event_id": str(cheer_event_id(bid, "r1")),
        "already_cheered": False,
    }
    (event,) = world.publisher.published
    assert (event.type, event.rep_id, event.data.broadcast_id) == ("Cheered", "r1", bid)  # type: ignore[attr-defined]


def test_a_second_cheer_by_the_same_rep_publishes_nothing(world: World) -> None:
    bid = newest(world)
    cheer_in_projection(world, "r1", bid)
    body = world.post(f"/api/broadcasts/{bid}/cheers", who="rep_r1").json()
    assert body["already_cheered"] is True and world.publisher.published == []


def test_an_admin_names_the_rep_and_must_name_a_known_one(world: World) -> None:
    bid = newest(world)
    missing = world.post(f"/api/broadcasts/{bid}/cheers")
    assert missing.status_code == 422 and missing.json()["detail"]["parameter"] == "rep_id"
    ghost = world.post(f"/api/broadcasts/{bid}/cheers", json={"rep_id": "ghost"})
    assert ghost.status_code == 422 and "unknown rep" in ghost.json()["detail"]["error"]
    ok = world.post(f"/api/broadcasts/{bid}/cheers", json={"rep_id": "r2"})
    assert ok.status_code == 202 and ok.json()["rep_id"] == "r2"


@pytest.mark.parametrize(
    ("who", "body", "status", "parameter"),
    [
        ("rep_r1", {"rep_id": "r2"}, 403, "rep_id"),  # a rep cannot cheer as someone else
        ("manager_d1", None, 403, "authorization"),  # no rep_id to cheer as
        ("producer", None, 403, "authorization"),
        (None, None, 401, "authorization"),
    ],
)
def test_forbidden_cheers(
    world: World, who: str | None, body: dict[str, str] | None, status: int, parameter: str
) -> None:
    response = world.post(f"/api/broadcasts/{newest(world)}/cheers", who=who, json=body)
    assert response.status_code == status
    assert response.json()["detail"]["parameter"] == parameter
    assert world.publisher.published == []


def test_cheering_an_unknown_broadcast_is_404(world: World) -> None:
    response = world.post("/api/broadcasts/not-a-broadcast/cheers", who="rep_r1")
    assert response.status_code == 404
    assert response.json()["detail"]["parameter"] == "broadcast_id"


# -- the stream ---------------------------------------------------------------------------
def frames(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Parse server-sent events, skipping comments and the retry frame."""
    current: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if "event" in current:
                current["json"] = json.loads(current["data"])
                yield current
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            # A multi-line payload comes as several data lines, joined by newlines.
            joined = name == "data" and name in current
            current[name] = f"{current[name]}\n{value}" if joined else value


def next_of(stream: Iterator[dict[str, Any]], event: str) -> dict[str, Any]:
    return next(f for f in stream if f["event"] == event)


def test_a_new_client_gets_the_snapshot_then_new_broadcasts_as_they_happen(world: World) -> None:
    with world.client.stream("GET", "/api/stream?scope=unit:t1", headers=auth("rep_r1")) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = frames(r.iter_lines())
        board = next_of(stream, "leaderboard")
        # snapshots carry the cursor (the last seq), never a seq of their own
        assert board["id"] == "7"
        assert [e["rank"] for e in board["json"]["entries"]] == [1, 1, 3]
        half = milestone_broadcast(
            "unit:t1", "revenue", "2026-11", 50, Decimal(1000), Decimal(2000), NOW
        )
        world.broadcasts.record([half])
        frame = next_of(stream, "milestone")
        assert frame["id"] == "8" and frame["json"]["payload"]["percent"] == 50


def test_a_reconnecting_client_gets_what_it_missed_first(world: World) -> None:
    headers = auth("admin") | {"Last-Event-ID": "5"}
    with world.client.stream("GET", "/api/stream", headers=headers) as r:
        stream = frames(r.iter_lines())
        first, second = next(stream), next(stream)
        assert [(f["event"], f["id"]) for f in (first, second)] == [
            ("deal_won", "6"),
            ("deal_won", "7"),
        ]
        assert second["json"]["payload"]["opportunity_id"] == "o1"
        assert next(stream)["event"] == "leaderboard"


def test_the_leaderboard_and_cheer_counts_follow_the_projection(world: World) -> None:
    bid = newest(world)
    with world.client.stream("GET", "/api/stream?scope=unit:t1", headers=auth("admin")) as r:
        stream = frames(r.iter_lines())
        assert next_of(stream, "cheers")["json"]["counts"][bid] == 0
        # when r3 signs 900 and r2 cheers the win, and the store says it changed
        world.projection.apply_event(Events(first_id=80_000).order("r3", "2026-11-15T10:00", 900))
        cheer_in_projection(world, "r2", bid)
        world.hub.notify("projection")
        board = next_of(stream, "leaderboard")
        assert board["json"]["entries"][0]["rep_id"] == "r3"
        assert next_of(stream, "cheers")["json"]["counts"][bid] == 1


def test_the_stream_takes_the_token_from_the_query_for_event_source(world: World) -> None:
    url = f"/api/stream?token={TOKENS['rep_r1']}"
    with world.client.stream("GET", url) as r:
        assert r.status_code == 200
        assert next_of(frames(r.iter_lines()), "leaderboard")["json"]["scope"] == "company"


@pytest.mark.parametrize(
    ("url", "who", "status"),
    [
        ("/api/stream", None, 401),
        ("/api/stream?token=not-a-valid-token", None, 401),
        ("/api/stream", "producer", 403),
        ("/api/stream?metric=profit", "admin", 422),
        ("/api/stream?scope=unit:nope", "admin", 422),
        ("/api/stream?period=2026-13", "admin", 422),
    ],
)
def test_stream_errors_come_before_the_stream(
    world: World, url: str, who: str | None, status: int
) -> None:
    assert world.get(url, who=who).status_code == status


def test_frames_are_encoded_with_id_event_and_one_data_line_per_line() -> None:
    text = encode(Frame("deal_won", '{"a":1}\n{"b":2}', 12))
    assert text == 'id: 12\nevent: deal_won\ndata: {"a":1}\ndata: {"b":2}\n\n'
    assert encode(Frame("leaderboard", "{}")) == "event: leaderboard\ndata: {}\n\n"


@pytest.mark.parametrize(("text", "seq"), [("17", 17), (" 3 ", 3), ("x", None), (None, None)])
def test_last_event_id_is_a_seq_or_ignored(text: str | None, seq: int | None) -> None:
    assert parse_last_event_id(text) == seq


def test_the_hub_wakes_waiters_and_never_loses_a_signal_between_waits() -> None:
    async def scenario() -> tuple[Generation, Generation, Generation]:
        hub = ChangeHub()
        start = hub.generation
        waiter = asyncio.create_task(hub.wait(start, timeout=5))
        await asyncio.sleep(0.01)
        hub.notify("broadcasts")
        woken = await waiter
        hub.notify("projection")  # nobody waiting: the next wait returns at once
        missed = await hub.wait(woken, timeout=5)
        idle = await hub.wait(missed, timeout=0.01)
        return woken, missed, idle

    woken, missed, idle = asyncio.run(scenario())
    assert woken == Generation(1, 0) and missed == Generation(1, 1) and idle == missed
