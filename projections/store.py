"""PostgresProjectionStore: exactly-once batches of deltas, one schema per projection version."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any, Self
from uuid import UUID

import psycopg
from psycopg import sql

from projections import store_sql as q
from projections.aggregate import Aggregate
from projections.batch import AppliedResult, Record, plan_batch, result_of
from projections.context import FoldContext
from projections.registry import (
    activate_version,
    active_version,
    ensure_registry,
    notify_channel,
    register_version,
    schema_for,
)
from projections.store_reads import PostgresReadModel

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
"""


class _SomeAppliedBefore(Exception):
    """Rolls the fast path's savepoint back when some event_ids were applied before."""


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Row tuples to one list per column: the arrays that unnest() turns back into rows."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


class PostgresProjectionStore(PostgresReadModel):
    """One projection version in PostgreSQL: apply_batch writes, the ReadModel methods read.

    Writes go through their own connection (one transaction per batch); reads use an
    autocommit connection, or one REPEATABLE READ snapshot via `snapshot()`.
    """

    def __init__(
        self,
        conninfo: str,
        ctx: FoldContext,
        schema: str | None = None,
        *,
        registry_schema: str = "public",
    ) -> None:
        schema = schema or schema_for(ctx.kpis.version)
        super().__init__(psycopg.connect(conninfo, autocommit=True), schema)
        self._write: psycopg.Connection[Any] = psycopg.connect(conninfo)
        self.conninfo = conninfo
        self.ctx = ctx
        self.registry_schema = registry_schema

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel notified after every batch that applied events."""
        return notify_channel(self.schema)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._write.close()
        self.conn.close()

    # -- schema ------------------------------------------------------------------------------
    def migrate(self, activate_if_none: bool = True) -> None:
        """Create or upgrade this version's schema and register it (idempotent, concurrent-safe).

        With `activate_if_none`, the version becomes active when no version is active yet.
        """
        conn = self._write
        with conn.transaction():
            # Two workers starting together must not both run the DDL.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('salespulse.migrate'))")
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            conn.execute(self.stmt(_MIGRATIONS_TABLE))
            done = {r[0] for r in conn.execute(self.stmt("SELECT name FROM {s}.schema_migrations"))}
            files = resources.files("projections").joinpath("sql")
            for f in sorted(files.iterdir(), key=lambda f: f.name):
                if (
                    f.name.startswith("projection_")
                    and f.name.endswith(".sql")
                    and f.name not in done
                ):
                    ddl = sql.SQL(f.read_text(encoding="utf-8"))
                    conn.execute(ddl.format(schema=sql.Identifier(self.schema)))
                    conn.execute(
                        self.stmt("INSERT INTO {s}.schema_migrations VALUES (%s)"), (f.name,)
                    )
            ensure_registry(conn, self.registry_schema)
            version = self.ctx.kpis.version
            register_version(conn, version, self.schema, self.ctx.kpis.source, self.registry_schema)
        if activate_if_none and active_version(conn, self.registry_schema) is None:
            activate_version(conn, version, self.registry_schema)
        conn.commit()

    def offsets(self) -> dict[int, int]:
        """The recorded offset per partition (the next record to read is offset + 1)."""
        return dict(self.conn.execute(self.stmt(q.SELECT_OFFSETS)).fetchall())

    # -- writing ---------------------------------------------------------------------------
    def apply_batch(self, records: Sequence[Record]) -> AppliedResult:
        """Apply (partition, offset, event) records exactly once, in one transaction.

        Records at or below their partition's recorded offset are skipped; an event_id
        applied before (however it arrived) adds nothing; the deltas of the new events are
        merged in Python and written with one set-based statement per table; the offsets
        move forward; listeners on `channel` are notified at commit.
        """
        if not records:
            return AppliedResult()
        conn = self._write
        with conn.transaction():
            cur = conn.cursor()
            partitions = sorted({r[0] for r in records})
            # FOR UPDATE: a second consumer of the same partition (a rebalance zombie) waits
            # here and then sees the offsets this transaction records.
            recorded = dict(cur.execute(self.stmt(q.LOCK_OFFSETS), (partitions,)).fetchall())
            plan = plan_batch(records, recorded, self.ctx)
            new_ids = []
            if plan.folded:
                new_ids = self._claim(cur, list(plan.folded))
                aggregate = Aggregate()
                for event_id in new_ids:
                    aggregate.add_all(plan.folded[event_id])
                self._write_aggregate(cur, aggregate)
            moved = sorted((p, o) for p, o in plan.offsets.items() if o > recorded.get(p, -1))
            if moved:
                cur.execute(self.stmt(q.UPSERT_OFFSETS), _columns(moved, 2))
            result = result_of(plan, new_ids)
            if new_ids:
                cur.execute(q.NOTIFY, (self.channel, self._payload(result)))
        return result

    def _claim(self, cur: psycopg.Cursor[Any], ids: list[UUID]) -> list[UUID]:
        """Record the event_ids as applied; return those not applied before, in batch order."""
        try:
            # Usually none is a repeat: insert without the cost of returning 5000 UUIDs.
            with self._write.transaction():
                cur.execute(self.stmt(q.INSERT_APPLIED_EVENTS), (ids,))
                if cur.rowcount != len(ids):
                    raise _SomeAppliedBefore
            return ids
        except _SomeAppliedBefore:
            inserted = {
                r[0] for r in cur.execute(self.stmt(q.INSERT_APPLIED_EVENTS_RETURNING), (ids,))
            }
            return [i for i in ids if i in inserted]

    def _payload(self, result: AppliedResult) -> str:
        # NOTIFY payloads are limited to 8000 bytes: counts and names only.
        return json.dumps(
            {
                "schema": self.schema,
                "applied": result.applied,
                "offsets": {str(p): o for p, o in sorted(result.offsets.items())},
                "metrics": sorted(result.metrics),
                "deal_wins": len(result.deal_wins),
                "cheers": len(result.cheers),
            },
            separators=(",", ":"),
        )

    def _write_aggregate(self, cur: psycopg.Cursor[Any], a: Aggregate) -> None:
        """One statement per table; rows sorted by key so concurrent writers lock in one order."""

        def put(template: str, rows: list[tuple[Any, ...]], width: int) -> None:
            if rows:
                cur.execute(
                    self.stmt(template),
                    _columns(sorted(rows, key=lambda r: r[:width]), len(rows[0])),
                )

        put(q.UPSERT_METRICS, [(*k, v, at) for k, (v, at) in a.metrics.items()], 3)
        put(q.UPSERT_ACTIVITIES, [(*k, c, amt) for k, (c, amt) in a.activities.items()], 4)
        put(
            q.UPSERT_UNITS,
            [(u.unit_id, u.name, u.kind, u.parent_id, u.at, u.event_id) for u in a.units.values()],
            1,
        )
        put(
            q.INSERT_MEMBERSHIPS,
            [
                (m.rep_id, m.event_id, m.at, m.day, m.unit_id, m.name)
                for m in a.memberships.values()
            ],
            2,
        )
        put(
            q.UPSERT_TARGETS,
            [(t.scope, t.metric, t.period, t.value, t.at, t.event_id) for t in a.targets.values()],
            3,
        )
        put(
            q.INSERT_TARGET_HISTORY,
            [
                (t.event_id, t.scope, t.metric, t.period, t.value, t.at)
                for t in a.target_history.values()
            ],
            1,
        )
        put(q.UPSERT_LOCKS, [(x.scope, x.period, x.at, x.event_id) for x in a.locks.values()], 2)
        put(q.UPSERT_OPPORTUNITIES, [_opportunity_row(s) for s in a.opportunities.values()], 1)
        put(
            q.INSERT_STAGES,
            [(s.opportunity_id, s.event_id, s.stage, s.at) for s in a.stages.values()],
            2,
        )
        put(
            q.INSERT_WINS,
            [
                (
                    w.event_id,
                    w.source,
                    w.rep_id,
                    w.amount,
                    w.account_id,
                    w.opportunity_id,
                    w.order_id,
                    w.at,
                    w.day,
                )
                for w in a.wins.values()
            ],
            1,
        )
        put(
            q.UPSERT_CHEERS,
            [(c.broadcast_id, c.rep_id, c.at, c.event_id) for c in a.cheers.values()],
            2,
        )

    # -- consistent reads ----------------------------------------------------------------------
    @contextmanager
    def snapshot(self) -> Iterator[PostgresReadModel]:
        """A read model over one REPEATABLE READ transaction (all reads see one commit)."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield PostgresReadModel(conn, self.schema)


def _opportunity_row(s: Any) -> tuple[Any, ...]:
    def group(value: tuple[Any, ...], stamp: Any) -> tuple[Any, ...]:
        return (*value, *(stamp or (None, None)))

    info = s.info
    info_values = (
        (info.account_id, info.product_line, info.expected_close, info.created_at)
        if info
        else (None, None, None, None)
    )
    return (
        s.opportunity_id,
        *group((s.rep_id,), s.rep_stamp),
        *group(info_values, s.info_stamp),
        *group((s.stage,), s.stage_stamp),
        *group((s.amount,), s.amount_stamp),
        *group((s.outcome, s.reason), s.outcome_stamp),
    )
