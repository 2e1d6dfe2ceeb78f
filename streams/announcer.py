"""The live worker's announcements: recorded in each batch's transaction, then relayed to Kafka."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import psycopg

from projections.broadcasts.announcements import announcements
from projections.broadcasts.log import (
    Broadcast,
    ensure_broadcasts,
    insert_broadcasts,
    mark_relayed,
    unrelayed,
)
from projections.broadcasts.retractions import retractions
from projections.model.batch import AppliedResult
from projections.model.kpi import KpiDefinitions
from projections.postgres.reads import PostgresReadModel
from projections.postgres.store import WithinBatch


def _now() -> datetime:
    return datetime.now(UTC)


class Announcer:
    """Turns newly applied deal wins into broadcasts; only the live worker has one (no replay)."""

    def __init__(
        self,
        conninfo: str,
        broadcasts_schema: str,
        tz: tzinfo,
        live_cutoff: timedelta,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.schema, self.conninfo = broadcasts_schema, conninfo
        self.tz, self.live_cutoff, self.clock = tz, live_cutoff, clock
        self._conn: psycopg.Connection[Any] = psycopg.connect(conninfo, autocommit=True)
        ensure_broadcasts(self._conn, broadcasts_schema)

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, reopened when the server dropped it (a PostgreSQL restart)."""
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def hook(self, projection_schema: str, kpis: KpiDefinitions) -> WithinBatch:
        """apply_batch's in-transaction hook for the active version: record announcements."""

        def within(conn: psycopg.Connection[Any], result: AppliedResult) -> None:
            if not result.deal_wins and not result.corrections:
                return
            view = PostgresReadModel(conn, projection_schema)
            items = announcements(
                view, kpis, result.deal_wins, self.tz, self.clock(), self.live_cutoff
            )
            if result.corrections:
                items += retractions(conn, self.schema, view, kpis, result.corrections)
            insert_broadcasts(conn, items, self.schema)

        return within

    def pending(self) -> list[Broadcast]:
        return unrelayed(self._live(), self.schema)

    def relayed(self, broadcasts: list[Broadcast]) -> None:
        mark_relayed(self._live(), self.schema, [b.seq for b in broadcasts])

    def close(self) -> None:
        self._conn.close()


def topic_record(broadcast: Broadcast) -> tuple[bytes, bytes]:
    """Key (the broadcast id) and JSON value of an announcement on the broadcasts topic."""
    value = {
        "seq": broadcast.seq,
        "broadcast_id": broadcast.broadcast_id,
        "kind": broadcast.kind,
        "occurred_at": broadcast.occurred_at.isoformat(),
        "payload": broadcast.payload,
    }
    return broadcast.broadcast_id.encode(), json.dumps(value, separators=(",", ":")).encode()
