"""Doubles and a small world for the API tests: FakePublisher, FakeBroadcastLog, FakeOps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from infra.publisher import PublishError
from infra.settings import Settings
from projections.broadcasts.log import Broadcast, NewBroadcast, deal_won_broadcast
from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from salespulse.api.app import create_app
from salespulse.api.auth import TokenBook
from salespulse.api.ops import PartitionLag, VersionStatus
from salespulse.api.readside import memory_read_side
from salespulse.api.sse import ChangeHub
from schemas.events import AnyEvent
from tests.support.builders import Events

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

TOKENS = {
    "admin": "admin-token-000000001",
    "manager_d1": "manager-d1-token-0001",
    "manager_t2": "manager-t2-token-0001",
    "rep_r1": "rep-r1-token-00000001",
    "producer": "producer-token-000001",
}
AUTH_TOML = f"""
[[tokens]]
token = "{TOKENS["admin"]}"
role = "admin"

[[tokens]]
token = "{TOKENS["manager_d1"]}"
role = "manager"
unit = "d1"

[[tokens]]
token = "{TOKENS["manager_t2"]}"
role = "manager"
unit = "t2"

[[tokens]]
token = "{TOKENS["rep_r1"]}"
role = "rep"
rep_id = "r1"
name = "Rep One"

[[tokens]]
token = "{TOKENS["producer"]}"
role = "producer"
"""


class FakePublisher:
    """Records what would have gone to Kafka; `fail` makes the next flush raise PublishError."""

    def __init__(self) -> None:
        self.published: list[AnyEvent] = []
        self.pending: list[AnyEvent] = []
        self.fail: str | None = None
        self.closed = False

    def publish(self, event: AnyEvent) -> None:
        self.pending.append(event)

    def flush(self, timeout: float | None = None) -> None:
        if self.fail is not None:
            self.pending.clear()
            raise PublishError(self.fail)
        self.published += self.pending
        self.pending.clear()

    def close(self, raise_errors: bool = True) -> None:
        self.flush()
        self.closed = True


class FakeBroadcastLog:
    """The broadcast log in a list; recording wakes the hub like the PostgreSQL NOTIFY does."""

    def __init__(self, hub: ChangeHub) -> None:
        self.hub = hub
        self.rows: list[Broadcast] = []
        self._lock = threading.Lock()

    def record(self, items: Sequence[NewBroadcast]) -> list[int]:
        new = []
        with self._lock:
            for item in items:
                if any(b.broadcast_id == item.broadcast_id for b in self.rows):
                    continue
                seq = len(self.rows) + 1
                self.rows.append(
                    Broadcast(
                        seq, item.broadcast_id, item.kind, item.payload, item.occurred_at, NOW
                    )
                )
                new.append(seq)
        if new:
            self.hub.notify("broadcasts")
        return new

    def recent(self, limit: int) -> list[Broadcast]:
        return list(reversed(self.rows))[:limit]

    def after(self, seq: int, limit: int = 500) -> list[Broadcast]:
        return [b for b in self.rows if b.seq > seq][:limit]

    def get(self, broadcast_id: str) -> Broadcast | None:
        return next((b for b in self.rows if b.broadcast_id == broadcast_id), None)

    def last_seq(self) -> int:
        return self.rows[-1].seq if self.rows else 0


@dataclass
class FakeOps:
    """Registry versions and partition positions given by the test."""

    statuses: list[VersionStatus] = field(default_factory=list)
    lags: list[PartitionLag] | None = None

    def versions(self) -> list[VersionStatus]:
        return self.statuses

    def lag(self) -> list[PartitionLag] | None:
        return self.lags


def history(e: Events) -> list[AnyEvent]:
    """co -> d1 -> (t1, t2), co -> d2 -> t3; r1..r3 in t1, r4 in t2, r5 in t3; November."""
    return [
        e.unit("co", "company", None),
        e.unit("d1", "department", "co"),
        e.unit("d2", "department", "co"),
        e.unit("t1", "team", "d1"),
        e.unit("t2", "team", "d1"),
        e.unit("t3", "team", "d2"),
        *(e.join(r, "t1") for r in ("r1", "r2", "r3")),
        e.join("r4", "t2"),
        e.join("r5", "t3"),
        e.target("rep:r1", "revenue", "2026-11", 1000),
        e.target("rep:r1", "revenue", "2026-11", 1200, at="2020-02-01"),
        e.target("rep:r1", "f2f_visits", "2026-11", 15),
        e.target("unit:t1", "revenue", "2026-11", 2000),
        e.target("company", "revenue", "2026-11", 5000),
        e("TargetsLocked", "2020-03-01", scope="unit:t2", period="2026-11"),
        # r1 and r2 both reach 500.25; r2 got there first (the 5th against the 10th).
        e.order("r1", "2026-11-10T10:00", "500.25"),
        e.order("r2", "2026-11-01T10:00", 300),
        e.order("r2", "2026-11-05T10:00", "200.25"),
        e.order("r3", "2026-11-02T10:00", 300),
        e.order("r4", "2026-11-03T10:00", 400),
        e.order("r5", "2026-11-04T10:00", 100),
        e.created("r1", "2026-11-02T09:00", "o1", 800, stage="proposal"),
        e.won("r1", "2026-11-12T15:00", "o1", 800),
        e.created("r4", "2026-11-06T09:00", "o2", 300),
        e.visit("r1", "2026-11-10T09:00"),
        e.visit("r1", "2026-11-10T14:00", f2f=False),
        e.call("r1", "2026-11-10T11:00"),
    ]


@dataclass
class World:
    """A running app over the oracle of `history`, with its doubles."""

    client: TestClient
    projection: InMemoryProjection
    publisher: FakePublisher
    broadcasts: FakeBroadcastLog
    hub: ChangeHub
    ops: FakeOps | None
    events: list[AnyEvent]

    def get(self, url: str, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.get(url, headers=auth(who) | kw.pop("headers", {}), **kw)

    def post(self, url: str, who: str | None = "admin", **kw: Any) -> Any:
        return self.client.post(url, headers=auth(who) | kw.pop("headers", {}), **kw)


def auth(who: str | None) -> dict[str, str]:
    return {} if who is None else {"Authorization": f"Bearer {TOKENS[who]}"}


def make_world(
    open_mode: bool = False,
    ops: FakeOps | None = None,
    extra: Sequence[AnyEvent] = (),
    health: Callable[[], dict[str, str]] | None = None,
) -> World:
    """The app over build_oracle(history), deal wins announced, tokens unless open_mode."""
    events = [*history(Events()), *extra]
    projection = build_oracle(events, FoldContext(default_kpis()))
    hub = ChangeHub()
    log = FakeBroadcastLog(hub)
    log.record([deal_won_broadcast(w) for w in reversed(projection.deal_wins())])
    publisher = FakePublisher()
    app = create_app(
        Settings(),
        memory_read_side(projection),
        lambda: publisher,
        broadcasts=log,
        tokens=None if open_mode else TokenBook.from_toml(AUTH_TOML),
        ops=ops,
        hub=hub,
        clock=lambda: NOW,
        keepalive_s=0.05,
        min_refresh_s=0.0,
        health=health,
    )
    return World(
        TestClient(app, base_url="http://127.0.0.1:8000"),
        projection,
        publisher,
        log,
        hub,
        ops,
        events,
    )
