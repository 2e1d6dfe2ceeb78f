"""The broadcast log: announcements (deal wins, milestones) stored once, numbered, NOTIFYed.

The worker records an announcement when the event behind it is first applied; the API lists
recent ones and streams those after a client's last seen `seq` (server-sent events'
Last-Event-ID). The table is version-independent (one per database, beside the registry): a
replay builds a projection version but never announces anything again, and `broadcast_id`
(the source event_id for a deal win) is unique, so a re-delivered event is never re-announced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol
from uuid import UUID

import psycopg
from psycopg import sql

from projections.postgres.migrate import migrate
from projections.queries.numbers import plain

BROADCASTS_CHANNEL = "salespulse_broadcasts"
BroadcastKind = Literal[
    "deal_won", "milestone", "leaderboard", "deal_retracted", "deal_corrected", "milestone_revoked"
]

# Serialises writers until commit, so that seq order is commit order: without it a reader
# that has seen seq 7 could miss seq 6 committed a moment later by another worker. Broadcasts
# are rare (a deal win, a milestone), so the lock costs nothing measurable.
_COLUMNS = "seq, broadcast_id, kind, payload, occurred_at, created_at"
LOCK_WRITERS = "SELECT pg_advisory_xact_lock(hashtext('salespulse.broadcasts'))"
# A batch's announcements in one statement, numbered in input order (the rows are produced
# in that order, and each takes the next seq as it is inserted).
INSERT_BROADCASTS = """
INSERT INTO {r}.broadcasts (broadcast_id, kind, payload, occurred_at)
SELECT b.broadcast_id, b.kind, b.payload::jsonb, b.occurred_at
FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[]) WITH ORDINALITY
    AS b (broadcast_id, kind, payload, occurred_at, n)
ORDER BY b.n
ON CONFLICT (broadcast_id) DO NOTHING
RETURNING seq
"""
NOTIFY_BROADCASTS = "SELECT pg_notify(%s, s::text) FROM unnest(%s::bigint[]) AS s ORDER BY s"
# The announcements of the deals a batch's corrections are about, in one statement per kind:
# a direct order's (its first), a won deal's (its latest: won again after a reopening).
SELECT_ANNOUNCED_ORDERS = f"""
SELECT DISTINCT ON (payload->>'order_id') payload->>'order_id', {_COLUMNS} FROM {{r}}.broadcasts
WHERE kind = 'deal_won' AND payload->>'order_id' = ANY(%s)
  AND payload->>'source' = 'OrderSigned'
ORDER BY payload->>'order_id', seq
"""
SELECT_ANNOUNCED_DEALS = f"""
SELECT DISTINCT ON (payload->>'opportunity_id') payload->>'opportunity_id', {_COLUMNS}
FROM {{r}}.broadcasts
WHERE kind = 'deal_won' AND payload->>'opportunity_id' = ANY(%s)
  AND payload->>'source' = 'OpportunityWon'
ORDER BY payload->>'opportunity_id', seq DESC
"""
SELECT_RECORDED = "SELECT broadcast_id FROM {r}.broadcasts WHERE broadcast_id = ANY(%s)"
SELECT_RECENT = f"SELECT {_COLUMNS} FROM {{r}}.broadcasts ORDER BY seq DESC LIMIT %s"
SELECT_AFTER = f"SELECT {_COLUMNS} FROM {{r}}.broadcasts WHERE seq > %s ORDER BY seq LIMIT %s"
SELECT_ONE = f"SELECT {_COLUMNS} FROM {{r}}.broadcasts WHERE broadcast_id = %s"
SELECT_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM {r}.broadcasts"
# The outbox: relayed_at is set once an announcement is copied to the broadcasts topic.
SELECT_UNRELAYED = (
    f"SELECT {_COLUMNS} FROM {{r}}.broadcasts WHERE relayed_at IS NULL ORDER BY seq LIMIT %s"
)
MARK_RELAYED = "UPDATE {r}.broadcasts SET relayed_at = now() WHERE seq = ANY(%s)"


@dataclass(frozen=True)
class NewBroadcast:
    """An announcement to record; `payload` must be JSON-ready (amounts as strings)."""

    broadcast_id: str
    kind: BroadcastKind
    payload: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Broadcast:
    """A recorded announcement; `seq` increases in commit order."""

    seq: int
    broadcast_id: str
    kind: str
    payload: dict[str, Any]
    occurred_at: datetime
    created_at: datetime


class WinLike(Protocol):
    """What a deal-win announcement is made of (DealWonCandidate and DealWin both fit)."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def source(self) -> str: ...
    @property
    def rep_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def account_id(self) -> str | None: ...
    @property
    def opportunity_id(self) -> str | None: ...
    @property
    def order_id(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def day(self) -> date: ...


def deal_won_broadcast(win: WinLike) -> NewBroadcast:
    """The announcement of a won deal or signed order; its id is the source event_id."""
    return NewBroadcast(
        broadcast_id=str(win.event_id),
        kind="deal_won",
        payload={
            "source": win.source,
            "rep_id": win.rep_id,
            "amount": plain(win.amount),
            "account_id": win.account_id,
            "opportunity_id": win.opportunity_id,
            "order_id": win.order_id,
            "day": win.day.isoformat(),
        },
        occurred_at=win.at,
    )


def milestone_broadcast(
    scope: str,
    metric: str,
    period: str,
    percent: int,
    actual: Decimal,
    target: Decimal,
    at: datetime,
) -> NewBroadcast:
    """A goal milestone (e.g. 100 % of the month's revenue target), announced once ever."""
    return NewBroadcast(
        broadcast_id=f"milestone:{scope}:{metric}:{period}:{percent}",
        kind="milestone",
        payload={
            "scope": scope,
            "metric": metric,
            "period": period,
            "percent": percent,
            "actual": format(actual, "f"),
            "target": format(target, "f"),
        },
        occurred_at=at,
    )


def _stmt(template: str, schema: str) -> sql.Composed:
    return sql.SQL(template).format(r=sql.Identifier(schema))


def ensure_broadcasts(conn: psycopg.Connection[Any], schema: str = "public") -> None:
    """Create or upgrade the table (migrations/broadcasts_*.sql; idempotent)."""
    migrate(conn, "broadcasts", schema, registry_schema=schema)


def unrelayed(conn: psycopg.Connection[Any], schema: str, limit: int = 500) -> list[Broadcast]:
    """Announcements not yet copied to the broadcasts topic (the outbox), oldest first."""
    rows = conn.execute(_stmt(SELECT_UNRELAYED, schema), (limit,)).fetchall()
    return [_broadcast(r) for r in rows]


def mark_relayed(conn: psycopg.Connection[Any], schema: str, seqs: Sequence[int]) -> None:
    conn.execute(_stmt(MARK_RELAYED, schema), (list(seqs),))


def insert_broadcasts(
    conn: psycopg.Connection[Any], items: Sequence[NewBroadcast], schema: str = "public"
) -> list[int]:
    """Record the announcements not recorded before; returns the new seqs, in input order.

    Runs in the caller's transaction when there is one (a savepoint), so the worker can record
    announcements atomically with the batch that caused them; listeners on
    BROADCASTS_CHANNEL get each new seq at commit.
    """
    if not items:
        return []
    columns = (
        [i.broadcast_id for i in items],
        [i.kind for i in items],
        [json.dumps(i.payload) for i in items],
        [i.occurred_at for i in items],
    )
    with conn.transaction():
        conn.execute(LOCK_WRITERS)
        # One statement for the batch: a statement per announcement (and one per NOTIFY) took
        # 5 % of a worker catching up on a history with ~220 announcements per batch.
        rows = conn.execute(_stmt(INSERT_BROADCASTS, schema), columns).fetchall()
        new = sorted(int(r[0]) for r in rows)
        if new:
            conn.execute(NOTIFY_BROADCASTS, (BROADCASTS_CHANNEL, new))
    return new


def announced_deals(
    conn: psycopg.Connection[Any], schema: str, kind: str, entity_ids: Sequence[str]
) -> dict[str, Broadcast]:
    """The deal_won announcements of these direct orders (kind "order") or won deals, by id
    (one statement for a batch: a query per correction took 8 % of a catching-up worker)."""
    if not entity_ids:
        return {}
    template = SELECT_ANNOUNCED_ORDERS if kind == "order" else SELECT_ANNOUNCED_DEALS
    rows = conn.execute(_stmt(template, schema), (sorted(set(entity_ids)),)).fetchall()
    return {row[0]: _broadcast(row[1:]) for row in rows}


def recorded(conn: psycopg.Connection[Any], schema: str, ids: Sequence[str]) -> set[str]:
    """Which of these broadcast ids are recorded."""
    rows = conn.execute(_stmt(SELECT_RECORDED, schema), (list(ids),)).fetchall()
    return {r[0] for r in rows}


def _broadcast(row: tuple[Any, ...]) -> Broadcast:
    seq, broadcast_id, kind, payload, occurred_at, created_at = row
    return Broadcast(int(seq), broadcast_id, kind, payload, occurred_at, created_at)


class BroadcastLog:
    """Reads and writes of the broadcast log through connections from `connect`.

    `connect` returns a context manager yielding a connection: a pool's `connection` in the
    API, `lambda: contextlib.nullcontext(conn)` for a worker holding one connection.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]],
        schema: str = "public",
    ) -> None:
        self._connect = connect
        self.schema = schema

    def ensure_schema(self) -> None:
        with self._connect() as conn:
            ensure_broadcasts(conn, self.schema)

    def record(self, items: Sequence[NewBroadcast]) -> list[int]:
        """Insert-if-absent; the seqs of those that were new."""
        with self._connect() as conn:
            return insert_broadcasts(conn, items, self.schema)

    def recent(self, limit: int) -> list[Broadcast]:
        """The latest announcements, newest first."""
        return self._rows(SELECT_RECENT, (limit,))

    def after(self, seq: int, limit: int = 500) -> list[Broadcast]:
        """Announcements after `seq`, oldest first: what a reconnecting client missed."""
        return self._rows(SELECT_AFTER, (seq, limit))

    def get(self, broadcast_id: str) -> Broadcast | None:
        rows = self._rows(SELECT_ONE, (broadcast_id,))
        return rows[0] if rows else None

    def last_seq(self) -> int:
        """The highest seq recorded (0 for an empty log)."""
        with self._connect() as conn:
            row = conn.execute(_stmt(SELECT_LAST_SEQ, self.schema)).fetchone()
        return int(row[0]) if row else 0

    def _rows(self, template: str, params: tuple[Any, ...]) -> list[Broadcast]:
        with self._connect() as conn:
            rows = conn.execute(_stmt(template, self.schema), params).fetchall()
        return [_broadcast(r) for r in rows]
