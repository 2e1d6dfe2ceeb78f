"""PostgresProjectionStore: exactly-once batches of deltas, one schema per projection version."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any, Self
from uuid import UUID

import psycopg

from infra.collector import collector_paused
from projections.model.aggregate import Aggregate
from projections.model.batch import (
    AppliedResult,
    Prefolded,
    Record,
    plan_batch,
    result_of,
    settle_copies,
)
from projections.model.context import FoldContext
from projections.model.entities import EntityKey
from projections.postgres import statements as q
from projections.postgres.isolation import is_record_fault, merged, poisoned
from projections.postgres.migrate import migrate
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import (
    activate_version,
    active_version,
    applied_offsets,
    ensure_registry,
    mark_ready,
    notify_channel,
    register_version,
    schema_for,
)
from projections.postgres.rowkinds import ROW_KINDS, fact_of

# Called inside apply_batch's transaction with its connection and result.
WithinBatch = Callable[[psycopg.Connection[Any], AppliedResult], None]


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
        self._upgraded = False

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

    def heal(self) -> None:
        """Reopen a connection the server dropped (a PostgreSQL restart): a broken psycopg
        connection never recovers by itself, and the worker must not need a restart."""
        if self._write.closed or self._write.broken:
            self._write.close()
            self._write = psycopg.connect(self.conninfo)
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            self.conn = psycopg.connect(self.conninfo, autocommit=True)

    # -- schema ------------------------------------------------------------------------------
    def migrate(self, activate_if_none: bool = True) -> None:
        """Create or upgrade this version's schema and register it (idempotent, concurrent-safe).

        With `activate_if_none`, the version becomes active when no version is active yet.
        """
        conn = self._write
        with conn.transaction():
            self._run_migrations(conn)
            ensure_registry(conn, self.registry_schema)
            version = self.ctx.kpis.version
            register_version(conn, version, self.schema, self.ctx.kpis.source, self.registry_schema)
            # Under the same lock: two workers starting together activate one version, once.
            if activate_if_none and active_version(conn, self.registry_schema) is None:
                activate_version(conn, version, self.registry_schema)
        conn.commit()

    def upgrade(self) -> None:
        """Apply this schema's pending projection migrations (e.g. projection_002) in place."""
        with self._write.transaction():
            self._run_migrations(self._write)
        self._upgraded = True

    def _run_migrations(self, conn: psycopg.Connection[Any]) -> None:
        migrate(conn, "projection", self.schema, registry_schema=self.registry_schema)
        self._upgraded = True

    def mark_ready(self) -> None:
        """This building version caught up with the log: live workers keep it current now."""
        mark_ready(self._write, self.ctx.kpis.version, self.registry_schema)
        self._write.commit()

    def offsets(self) -> dict[int, int]:
        """The recorded offset per partition (the next record to read is offset + 1)."""
        return applied_offsets(self.conn, self.schema)

    # -- writing ---------------------------------------------------------------------------
    def apply_batch(
        self,
        records: Sequence[Record],
        within: WithinBatch | None = None,
        ahead: Prefolded | None = None,
    ) -> AppliedResult:
        """Apply (partition, offset, event) records exactly once, in one transaction.

        Records at or below their partition's recorded offset are skipped; an event_id
        applied before (however it arrived) adds nothing; the deltas of the new events are
        merged in Python and written with one set-based statement per table; the offsets
        move forward; listeners on `channel` are notified at commit. `within(conn, result)`
        runs last inside the same transaction (the live worker records announcements there,
        so they commit with the numbers they quote, or not at all). `ahead`: these records
        folded before the transaction (model.batch.prefold), when they were.
        """
        if not records:
            return AppliedResult()
        if not self._upgraded:
            # A worker of a newer release writing into a schema an older one created (the
            # live workers open existing versions without migrate()): add the new columns
            # first, once per store.
            self.upgrade()
        with collector_paused():
            try:
                return self._apply(records, within, ahead)
            except Exception as exc:
                if not is_record_fault(exc):
                    raise  # e.g. the server is down: the caller retries the whole batch
                return self._isolate(records, within, exc)

    def _isolate(
        self, records: Sequence[Record], within: WithinBatch | None, exc: Exception
    ) -> AppliedResult:
        """Poison-pill isolation: a record PostgreSQL (or the fold) cannot take must not stop
        its partition. Bisect until the one record is found, apply the rest around it and
        report it in `failed` (the worker sends it to the dead-letter topic). Each half is
        its own transaction, in log order, so offsets only ever move forward."""
        events = [i for i, (_, _, event) in enumerate(records) if event is not None]
        if not events:
            raise exc  # not a record's fault after all: no record left to blame
        if len(events) == 1:
            without, failed = poisoned(records, events[0], exc)
            result = self._apply(without, within)
            return merged(result, AppliedResult(failed=(failed,)))
        middle = events[len(events) // 2]  # > 0: the first half keeps at least one event
        return merged(
            self.apply_batch(records[:middle], within), self.apply_batch(records[middle:], within)
        )

    def _apply(
        self, records: Sequence[Record], within: WithinBatch | None, ahead: Prefolded | None = None
    ) -> AppliedResult:
        conn = self._write
        with conn.transaction():
            cur = conn.cursor()
            partitions = sorted({r[0] for r in records})
            # FOR UPDATE: a second consumer of the same partition (a rebalance zombie) waits
            # here and then sees the offsets this transaction records.
            recorded = dict(cur.execute(self.stmt(q.LOCK_OFFSETS), (partitions,)).fetchall())
            plan = plan_batch(records, recorded, self.ctx, ahead)
            new_ids: list[UUID] = list(plan.folded)
            if new_ids:
                # Claim the event ids first; the statement returns only the ids applied
                # before (usually none), so the deltas merged below are exactly the new ones.
                # Sorted, like every other write: concurrent writers take locks in one order.
                claimed = sorted(new_ids, key=_uuid_order)
                prints = [plan.copies[i][2] for i in claimed]
                seen = cur.execute(self.stmt(q.CLAIM_EVENTS), (claimed, prints)).fetchall()
                if seen:
                    before = {r[0] for r in seen}
                    new_ids = [i for i in new_ids if i not in before]
                applied = {i: None if kept is None else bytes(kept) for i, kept in seen}
                settle_copies(plan, applied)
            if plan.conflicts:
                rows = [
                    (c.event_id, c.fingerprint, c.kept, c.partition, c.offset)
                    for c in plan.conflicts
                ]
                cur.execute(self.stmt(q.INSERT_CONFLICTS), _columns(rows, 5))
            aggregate = Aggregate()
            for event_id in new_ids:
                aggregate.add_all(plan.folded[event_id])
            entities = self._settle_entities(cur, aggregate)
            with conn.pipeline():
                # Python merges and encodes the next table while the server writes this one.
                self._write_aggregate(cur, aggregate, entities)
                moved = sorted((p, o) for p, o in plan.offsets.items() if o > recorded.get(p, -1))
                if moved:
                    cur.execute(self.stmt(q.UPSERT_OFFSETS), _columns(moved, 2))
                result = result_of(plan, new_ids, aggregate)
                if new_ids:
                    cur.execute(q.NOTIFY, (self.channel, self._payload(result)))
            if within is not None and new_ids:
                within(conn, result)
        return result

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

    def _settle_entities(self, cur: psycopg.Cursor[Any], a: Aggregate) -> list[EntityKey]:
        """Credits of the batch's entities, from their stored facts and the batch's new ones."""
        if not a.unsettled:
            return []
        keys = sorted(a.unsettled)  # one lock order for every writer
        arrays = _columns(keys, 2)
        cur.execute(self.stmt(q.LOCK_ENTITIES), [self.schema + ":", *arrays])
        known = cur.execute(self.stmt(q.SELECT_FACTS), arrays).fetchall()
        a.add_known_facts(fact_of(row) for row in known)
        return a.settle(self.ctx)

    def _write_aggregate(
        self, cur: psycopg.Cursor[Any], a: Aggregate, entities: list[EntityKey]
    ) -> None:
        """One statement per table; rows sorted by key so concurrent writers lock in one order."""

        def put(template: str, rows: list[Any]) -> None:
            if rows:
                # Rows are unique (keys lead, or the event_id is in them): a plain sort.
                rows.sort()
                cur.execute(self.stmt(template), _columns(rows, len(rows[0])))

        for kind in ROW_KINDS:
            put(kind.upsert, kind.rows(a))
        if entities:
            # Credits are replaced whole per entity (recomputed from all its facts by settle).
            cur.execute(self.stmt(q.DELETE_CREDITS), _columns(entities, 2))
            put(q.INSERT_CREDITS, [c for key in entities for c in a.credits[key]])

    def apply_healing(self, records: Sequence[Record], give_up_s: float = 600.0) -> AppliedResult:
        """apply_batch through a database restart: on a connection failure, reconnect and
        retry with backoff (idempotent: the offsets skip what did commit), for the replay,
        which must not need a manual restart either. Gives up after `give_up_s`."""
        delay, deadline = 0.2, time.monotonic() + give_up_s
        while True:
            try:
                return self.apply_batch(records)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                with contextlib.suppress(psycopg.Error):
                    self.heal()

    # -- consistent reads ----------------------------------------------------------------------
    @contextmanager
    def snapshot(self) -> Iterator[PostgresReadModel]:
        """A read model over one REPEATABLE READ transaction (all reads see one commit)."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield PostgresReadModel(conn, self.schema, org_once=True)


_uuid_order = attrgetter("int")  # 10x cheaper than UUID.__lt__; the same order
