"""BulkLoader: partial aggregates COPY'd into unindexed staging tables, then one merge.

The bulk replay's writer (the live store's apply_batch is the other). Each `flush` is one
transaction: the partial rows of every row kind (projections.postgres.rowkinds), the event ids
and the offsets read so far per partition, so a replay killed at any point resumes from the
last flush without counting anything twice. `merge` is one transaction too: it drops the
version's indexes, combines the partial rows with each kind's merge rule, fills
applied_events and applied_offsets, builds the indexes again and drops the staging tables.
Staging tables are UNLOGGED: if PostgreSQL itself crashes they are emptied, offsets included,
so the build then starts over from zero, still consistent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.model.aggregate import Aggregate
from projections.postgres.rowkinds import ROW_KINDS

STAGING = "_staging_"  # prefix of the staging tables inside the version's schema
IDS, OFFSETS = "_staging_ids", "_staging_offsets"
MergeProgress = Callable[[str, int, int], None]  # (step, steps done, steps in all)

_STAGING_DDL = """
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{ids} (event_id uuid NOT NULL, partition int NOT NULL);
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{offsets} (partition int PRIMARY KEY, "offset" bigint);
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
        self, aggregate: Aggregate, ids: Iterable[tuple[int, int]], offsets: Mapping[int, int]
    ) -> None:
        """Stage the aggregate's rows, the (UUID int, partition) ids and the offsets: one commit."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            for kind in ROW_KINDS:
                rows = kind.rows(aggregate)
                if not rows:
                    continue
                staging = STAGING + kind.table
                stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                    sql.SQL(self._table(staging)),
                    sql.SQL(", ").join(map(sql.Identifier, kind.columns)),
                )
                types = self._column_types(staging, kind.columns)  # not during the COPY
                with cur.copy(stmt) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
            pack = _ID_ROW.pack
            chunk = b"".join(pack(2, 16, n.to_bytes(16, "big"), 4, p) for n, p in ids)
            with cur.copy(self._q("COPY {s}.{ids} FROM STDIN (FORMAT BINARY)")) as copy:
                copy.write(_BINARY_HEADER + chunk + b"\xff\xff")
            moved = sorted(offsets.items())
            if moved:
                cur.execute(
                    self._q(_UPSERT_STAGED_OFFSETS), ([p for p, _ in moved], [o for _, o in moved])
                )

    def _column_types(self, table: str, columns: tuple[str, ...]) -> list[int]:
        if table not in self._types:
            rows = self.conn.execute(_COLUMN_TYPES, (self._table(table),)).fetchall()
            by_name = dict(rows)
            self._types[table] = [by_name[c] for c in columns]
        return self._types[table]

    def merge(self, progress: MergeProgress | None = None) -> int:
        """Combine the staging rows into the version's (empty) tables; returns events merged."""
        tables = [k.table for k in ROW_KINDS] + ["applied_events"]
        qualified = [self._table(t) for t in tables]
        steps = len(ROW_KINDS) + 4
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
            step("applied_events")
            # DISTINCT: an id on two partitions (two different events reusing an id) once.
            cur = conn.execute(self._q(_MERGE_IDS))
            merged = cur.rowcount
            conn.execute(self._q(_MERGE_OFFSETS))
            step("build indexes")
            for statement in rebuild:
                conn.execute(statement.encode())
            step("drop staging")
            for name in [IDS, OFFSETS] + [STAGING + k.table for k in ROW_KINDS]:
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
