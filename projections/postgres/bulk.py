"""BulkLoader: partial aggregates COPY'd into unindexed staging tables, then one merge.

The bulk replay's writer (the live store's apply_batch is the other). Each `flush` is one
transaction: the partial rows of every row kind (projections.postgres.rowkinds), the event ids
and the offsets read so far per partition, so a replay killed at any point resumes from the
last flush without counting anything twice. `merge` is one transaction too: it drops the
version's indexes, combines the partial rows with each kind's merge rule, fills
applied_events and applied_offsets, builds the indexes again and drops the staging tables.

Entity credits (entity_credits) are not merged row by row: they are recomputed from all of
an entity's facts. A flush stages the credits of the entities it holds facts of, computed from
those facts, and the entity keys; an entity staged by one flush only had all its facts there,
so its staged credits are final. For an entity staged more than once (its facts spread over
flushes, or a resumed run), the merge recomputes the credits from its merged entity_facts.
Staging tables are UNLOGGED: if PostgreSQL itself crashes they are emptied, offsets included,
so the build then starts over from zero, still consistent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import groupby
from operator import attrgetter
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.deltas import CreditRow
from projections.model.entities import EntityKey, credits_of
from projections.postgres import statements as q
from projections.postgres.rowkinds import ROW_KINDS, fact_of

STAGING = "_staging_"  # prefix of the staging tables inside the version's schema
IDS, OFFSETS = "_staging_ids", "_staging_offsets"
ENTITIES, CREDITS = "_staging_entities", "_staging_entity_credits"
CREDIT_COLUMNS = ("kind", "entity_id", "metric", "rep_id", "day", "value", "reached_at")
MergeProgress = Callable[[str, int, int], None]  # (step, steps done, steps in all)

_STAGING_DDL = """
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{ids} (event_id uuid NOT NULL, partition int NOT NULL);
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{offsets} (partition int PRIMARY KEY, "offset" bigint);
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{entities}
    (kind text COLLATE "C" NOT NULL, entity_id text COLLATE "C" NOT NULL);
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{credits} (LIKE {s}.entity_credits);
"""
# Entities staged by more than one flush: their credits are recomputed from all their facts.
_SPREAD = """
CREATE TEMP TABLE _spread ON COMMIT DROP AS
SELECT kind, entity_id FROM {s}.{entities} GROUP BY kind, entity_id HAVING count(*) > 1
"""
_MERGE_CREDITS = """
INSERT INTO {s}.entity_credits SELECT c.* FROM {s}.{credits} c
WHERE NOT EXISTS (SELECT 1 FROM _spread m WHERE m.kind = c.kind AND m.entity_id = c.entity_id)
"""
_SPREAD_FACTS = """
SELECT f.kind, f.entity_id, f.event_id, f.at, f.day, f.fact, f.rep_id, f.amount, f.currency,
       f.account_id, f.ref_id, f.text, f.shares
FROM {s}.entity_facts f JOIN _spread m ON m.kind = f.kind AND m.entity_id = f.entity_id
ORDER BY f.kind, f.entity_id
"""
_UPSERT_STAGED_OFFSETS = """
INSERT INTO {s}.{offsets} AS o (partition, "offset") SELECT * FROM unnest(%b::int[], %b::bigint[])
ON CONFLICT (partition) DO UPDATE SET "offset" = GREATEST(o."offset", EXCLUDED."offset")
"""
_SEEN_BEFORE = """
SELECT s.event_id FROM {s}.{ids} s JOIN unnest(%b::uuid[]) AS b(event_id) USING (event_id)
"""
_COLUMN_TYPES = """
SELECT attname, atttypid FROM pg_attribute
WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
"""
# Keys and indexes of the tables a merge loads: dropped before, built again after.
_CONSTRAINTS = """
SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid), conindid
FROM pg_constraint WHERE contype IN ('p', 'u') AND conrelid = ANY(%s::text[]::regclass[])
"""
_INDEXES = """
SELECT indexrelid, indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid = ANY(%s::text[]::regclass[])
"""
_MERGE_IDS = "INSERT INTO {s}.applied_events SELECT DISTINCT event_id FROM {s}.{ids}"
_MERGE_OFFSETS = """
INSERT INTO {s}.applied_offsets AS a (partition, "offset")
SELECT partition, "offset" FROM {s}.{offsets}
ON CONFLICT (partition) DO UPDATE SET "offset" = GREATEST(a."offset", EXCLUDED."offset")
"""
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_ID_ROW = struct.Struct(">hi16sii")  # 2 fields: uuid (16 bytes), int4 partition


class BulkLoader:
    """Staging tables beside one version's tables (schema `schema`), on its own connection."""

    def __init__(self, conninfo: str, schema: str) -> None:
        self.schema = schema
        self.conn: psycopg.Connection[Any] = psycopg.connect(conninfo)
        self._types: dict[str, list[int]] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _q(self, template: str, **names: str) -> sql.Composed:
        ids = {k: sql.Identifier(v) for k, v in names.items()}
        return sql.SQL(template).format(
            s=sql.Identifier(self.schema),
            ids=sql.Identifier(IDS),
            offsets=sql.Identifier(OFFSETS),
            entities=sql.Identifier(ENTITIES),
            credits=sql.Identifier(CREDITS),
            **ids,
        )

    def _table(self, name: str) -> str:
        return f"{sql.Identifier(self.schema).as_string()}.{sql.Identifier(name).as_string()}"

    def prepare(self) -> None:
        """Create the staging tables if missing: one per row kind, shaped like its table."""
        with self.conn.transaction():
            self.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('salespulse.bulk.' || %s))", (self.schema,)
            )
            self.conn.execute(self._q(_STAGING_DDL))
            for kind in ROW_KINDS:
                self.conn.execute(
                    self._q(
                        "CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{st} (LIKE {s}.{t})",
                        st=STAGING + kind.table,
                        t=kind.table,
                    )
                )
        self.conn.commit()

    def staged(self) -> bool:
        """Whether staging tables exist (a bulk build started and has not been merged)."""
        row = self.conn.execute("SELECT to_regclass(%s)", (self._table(OFFSETS),)).fetchone()
        self.conn.rollback()
        return row is not None and row[0] is not None

    def staged_offsets(self) -> dict[int, int]:
        """The last offset flushed per partition (nothing when no build has started)."""
        if not self.staged():
            return {}
        rows = self.conn.execute(self._q('SELECT partition, "offset" FROM {s}.{offsets}'))
        result = dict(rows.fetchall())
        self.conn.rollback()
        return result

    def staged_ids(self, partitions: Iterable[int]) -> Iterator[int]:
        """The ids flushed so far for these partitions, as UUID integers (to resume)."""
        with self.conn.cursor(name="staged_ids") as cur:
            cur.itersize = 50_000
            cur.execute(
                self._q("SELECT event_id FROM {s}.{ids} WHERE partition = ANY(%s)"),
                (list(partitions),),
            )
            for (event_id,) in cur:
                yield event_id.int
        self.conn.rollback()

    def seen_before(self, ids: list[UUID]) -> set[UUID]:
        """Which of `ids` an earlier flush staged already."""
        rows = self.conn.execute(self._q(_SEEN_BEFORE), (ids,)).fetchall()
        self.conn.rollback()
        return {r[0] for r in rows}

    def flush(
        self,
        aggregate: Aggregate,
        ids: Iterable[tuple[int, int]],
        offsets: Mapping[int, int],
        entities: list[EntityKey],
    ) -> None:
        """Stage the aggregate's rows, the credits of its settled `entities`, the (UUID int,
        partition) ids and the offsets: one commit."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            for kind in ROW_KINDS:
                self._copy(cur, STAGING + kind.table, kind.columns, kind.rows(aggregate))
            if entities:
                credits = [c for key in entities for c in aggregate.credits[key]]
                self._copy(cur, CREDITS, CREDIT_COLUMNS, credits)
                self._copy(cur, ENTITIES, ("kind", "entity_id"), entities)
            pack = _ID_ROW.pack
            chunk = b"".join(pack(2, 16, n.to_bytes(16, "big"), 4, p) for n, p in ids)
            with cur.copy(self._q("COPY {s}.{ids} FROM STDIN (FORMAT BINARY)")) as copy:
                copy.write(_BINARY_HEADER + chunk + b"\xff\xff")
            moved = sorted(offsets.items())
            if moved:
                cur.execute(
                    self._q(_UPSERT_STAGED_OFFSETS), ([p for p, _ in moved], [o for _, o in moved])
                )

    def _copy(
        self, cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...], rows: Sequence[Any]
    ) -> None:
        if not rows:
            return
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.SQL(self._table(table)), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        types = self._column_types(table, columns)  # not during the COPY
        with cur.copy(stmt) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _column_types(self, table: str, columns: tuple[str, ...]) -> list[int]:
        if table not in self._types:
            rows = self.conn.execute(_COLUMN_TYPES, (self._table(table),)).fetchall()
            by_name = dict(rows)
            self._types[table] = [by_name[c] for c in columns]
        return self._types[table]

    def merge(self, ctx: FoldContext, progress: MergeProgress | None = None) -> int:
        """Combine the staging rows into the version's (empty) tables; returns events merged."""
        tables = [k.table for k in ROW_KINDS] + ["entity_credits", "applied_events"]
        qualified = [self._table(t) for t in tables]
        steps = len(ROW_KINDS) + 5
        done = 0

        def step(name: str) -> None:
            nonlocal done
            if progress:
                progress(name, done, steps)
            done += 1

        conn = self.conn
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('salespulse.bulk.' || %s))", (self.schema,)
            )
            step("drop indexes")
            rebuild = self._drop_indexes(qualified)
            for kind in ROW_KINDS:
                step(kind.table)
                select = kind.merge_select(self._table(STAGING + kind.table))
                cols = ", ".join(sql.Identifier(c).as_string() for c in kind.columns)
                conn.execute(f"INSERT INTO {self._table(kind.table)} ({cols}) {select}".encode())
            step("entity_credits")
            self._merge_credits(ctx)
            step("applied_events")
            # DISTINCT: an id on two partitions (two different events reusing an id) once.
            cur = conn.execute(self._q(_MERGE_IDS))
            merged = cur.rowcount
            conn.execute(self._q(_MERGE_OFFSETS))
            step("build indexes")
            for statement in rebuild:
                conn.execute(statement.encode())
            step("drop staging")
            for name in [IDS, OFFSETS, ENTITIES, CREDITS] + [STAGING + k.table for k in ROW_KINDS]:
                conn.execute(f"DROP TABLE {self._table(name)}".encode())
        conn.commit()
        conn.autocommit = True
        try:
            for table in qualified:
                conn.execute(f"ANALYZE {table}".encode())  # the query planner's statistics
        finally:
            conn.autocommit = False
        if progress:
            progress("done", steps, steps)
        return merged

    def _merge_credits(self, ctx: FoldContext) -> None:
        """Final credits: as staged for entities one flush held, recomputed for the others."""
        conn = self.conn
        conn.execute(self._q(_SPREAD))
        conn.execute(self._q(_MERGE_CREDITS))
        with conn.cursor(name="spread_facts") as facts, conn.cursor() as cur:
            facts.itersize = 20_000
            facts.execute(self._q(_SPREAD_FACTS))
            rows: list[CreditRow] = []
            insert = self._q(q.INSERT_CREDITS)
            for key, group in groupby(map(fact_of, facts), key=attrgetter("kind", "entity_id")):
                rows += credits_of(key, group, ctx)
                if len(rows) >= 20_000:
                    cur.execute(insert, [list(c) for c in zip(*rows, strict=True)])
                    rows = []
            if rows:
                cur.execute(insert, [list(c) for c in zip(*rows, strict=True)])

    def _drop_indexes(self, tables: list[str]) -> list[str]:
        """Drop the tables' keys and indexes; returns the statements that build them again."""
        conn, rebuild, dropped = self.conn, [], set()
        for table, name, definition, index in conn.execute(_CONSTRAINTS, (tables,)).fetchall():
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}".encode())
            rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            dropped.add(index)
        for index, name, definition in conn.execute(_INDEXES, (tables,)).fetchall():
            if index not in dropped:
                conn.execute(f"DROP INDEX {name}".encode())
                rebuild.append(definition)
        return rebuild
