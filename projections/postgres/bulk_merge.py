"""The bulk replay's merge: staged partial rows into a version's tables, two tables at a time.

Each table is merged in a transaction of its own: drop its keys and indexes, insert the rows
combined by its row kind's merge rule, build them again, drop its staging table, commit. A
merged table has no staging table left, so a merge killed at any point resumes with the
tables still staged and never merges one twice. The first step commits a marker
(`_staging_merging`): from then on a resumed replay reads nothing more from the log and only
finishes the merge (what arrived meanwhile is the catch-up's). applied_events is one more such
table (filled from the staged ids, with the fingerprints and conflicts of a reference version
of the same log); the last transaction writes applied_offsets and drops the
rest of the staging: until it commits the version has no offsets and stays a build in
progress. Tables are independent, so two connections merge them at once, largest first, and
each is analyzed in its own transaction (one statement at a time left a core idle: the ids
and the ANALYZE of every table after the others took 2.2 of a 6.2 s merge).

Entity credits are not merged row by row: a flush staged the credits of each entity it held
facts of, computed from those facts; an entity staged by one flush only had all its facts
there, so those credits are final. For an entity staged more than once (facts spread over
flushes, or over a resumed run) they are recomputed from its merged entity_facts.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from itertools import groupby
from operator import attrgetter
from typing import Any

import psycopg
from psycopg import sql

from projections.model.context import FoldContext
from projections.model.deltas import CreditRow
from projections.model.entities import credits_of
from projections.postgres import statements as q
from projections.postgres.bulk import (
    CREDITS,
    ENTITIES,
    IDS,
    MERGING,
    OFFSETS,
    STAGING,
    qualified,
    staging_sql,
    table_exists,
)
from projections.postgres.rowkinds import ROW_KINDS, RowKind, fact_of

MergeProgress = Callable[[str, int, int], None]  # (step, steps done, steps in all)
CONNECTIONS = 2

_LOCK = "SELECT pg_advisory_lock(hashtext('salespulse.bulk.' || %s))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtext('salespulse.bulk.' || %s))"
_MARK = "CREATE UNLOGGED TABLE IF NOT EXISTS {s}.{merging} ()"
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
# Keys and indexes of a table a merge loads: dropped before, built again after.
_CONSTRAINTS = """
SELECT quote_ident(conname), pg_get_constraintdef(oid), conindid
FROM pg_constraint WHERE contype IN ('p', 'u') AND conrelid = %s::regclass
"""
_INDEXES = """
SELECT indexrelid, indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid = %s::regclass
"""
# Ids are unique per partition (the build de-duplicates each partition's ids in memory); an
# id on two partitions (one event written under two keys, e.g. before and after the topic
# got more partitions) was folded on both, so it cannot be merged: SharedIds.
#
# Fingerprints and conflicts are facts of the log, not of the KPI rules: the reference
# version (the active one, built from the same log by the live store) holds them for every
# event it applied, and the bulk build does not hash events (9 us an event, half a decode).
# An event the reference has not applied keeps none: it conflicts with nothing, like an event
# applied before fingerprints were kept (projections.model.batch.settle_copies).
_MERGE_IDS = "INSERT INTO {s}.applied_events (event_id) SELECT event_id FROM {s}.{ids}"
_MERGE_IDS_FROM = """
INSERT INTO {s}.applied_events (event_id, fingerprint)
SELECT i.event_id, r.fingerprint FROM {s}.{ids} i LEFT JOIN {r}.applied_events r USING (event_id)
"""
_COPY_CONFLICTS = """
INSERT INTO {s}.event_conflicts (event_id, fingerprint, kept, "partition", "offset")
SELECT event_id, fingerprint, kept, "partition", "offset" FROM {r}.event_conflicts
ON CONFLICT DO NOTHING
"""
_MERGE_OFFSETS = """
INSERT INTO {s}.applied_offsets AS a (partition, "offset")
SELECT partition, "offset" FROM {s}.{offsets}
ON CONFLICT (partition) DO UPDATE SET "offset" = GREATEST(a."offset", EXCLUDED."offset")
"""
_SIZE = "SELECT coalesce(pg_total_relation_size(to_regclass(%s)), 0)"


class SharedIds(RuntimeError):
    """An event id was staged by two partitions: the bulk build counted it twice."""


def merge_staged(
    conninfo: str,
    schema: str,
    ctx: FoldContext,
    progress: MergeProgress | None = None,
    reference: str | None = None,
) -> int:
    """Merge every staged table of `schema` into its version table; returns events merged.
    `reference`: the schema of a version of the same log to take fingerprints and conflicts
    from (the active one). Raises SharedIds when an id was staged by two partitions."""
    tasks = [k for k in ROW_KINDS if k.table != "entity_facts"]
    entity_kind = next(k for k in ROW_KINDS if k.table == "entity_facts")
    steps, done = len(ROW_KINDS) + 2, 0

    def report(step: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(step, done, steps)

    merged = 0

    def ids() -> str:
        nonlocal merged
        merged = _merge_ids(conninfo, schema, reference)
        return "applied_events"

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_LOCK, (schema,))  # one merger per version; released when it closes
        conn.execute(staging_sql(schema, _MARK))
        if progress:
            progress("begin", 0, steps)
        # The largest staged tables first, so the two connections finish close together.
        size = {k.table: _size(conn, qualified(schema, STAGING + k.table)) for k in ROW_KINDS}
        size["applied_events"] = _size(conn, qualified(schema, IDS))
        jobs: list[tuple[str, Callable[[], str]]] = [
            ("entity_facts", lambda: _merge_entities(conninfo, schema, entity_kind, ctx)),
            ("applied_events", ids),
            *[(k.table, _job(conninfo, schema, k)) for k in tasks],
        ]
        jobs.sort(key=lambda job: -size[job[0]])
        with ThreadPoolExecutor(CONNECTIONS, thread_name_prefix="salespulse-merge") as pool:
            for future in as_completed([pool.submit(run) for _, run in jobs]):
                report(future.result())
        _merge_offsets(conn, schema)
        report("applied_offsets")
    return merged


def _size(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(_SIZE, (table,)).fetchone()
    return int(row[0]) if row else 0


def _job(conninfo: str, schema: str, kind: RowKind) -> Callable[[], str]:
    def run() -> str:
        with psycopg.connect(conninfo) as conn, conn.transaction():
            if _still_staged(conn, schema, STAGING + kind.table):
                _load(conn, schema, kind.table, lambda: _insert_merged(conn, schema, kind))
                _analyze(conn, schema, kind.table)
                _drop(conn, schema, STAGING + kind.table)
        return kind.table

    return run


def _merge_entities(conninfo: str, schema: str, facts: RowKind, ctx: FoldContext) -> str:
    """entity_facts, then the credits that need them, in one transaction."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        if _still_staged(conn, schema, STAGING + facts.table):
            _load(conn, schema, facts.table, lambda: _insert_merged(conn, schema, facts))
            _load(conn, schema, "entity_credits", lambda: _merge_credits(conn, schema, ctx))
            for table in (facts.table, "entity_credits"):
                _analyze(conn, schema, table)
            for name in (STAGING + facts.table, ENTITIES, CREDITS):
                _drop(conn, schema, name)
    return "entity_facts"


# Rows ANALYZE samples = 300 x the target: 3,000 instead of the default's 30,000. The version's
# queries read by key prefix, for which a small sample plans alike, and autovacuum analyzes
# again at the server's default once live writes have changed a tenth of a table. The default
# target's ANALYZE took 0.8 s of PostgreSQL time in a 1M-event merge (opportunities: 0.38 s).
BUILD_STATISTICS_TARGET = 10


def _analyze(conn: psycopg.Connection[Any], schema: str, table: str) -> None:
    """Planner statistics, in the loading transaction (ANALYZE counts its own new rows)."""
    conn.execute(f"SET LOCAL default_statistics_target = {BUILD_STATISTICS_TARGET}".encode())
    conn.execute(f"ANALYZE {qualified(schema, table)}".encode())


def _still_staged(conn: psycopg.Connection[Any], schema: str, staging: str) -> bool:
    return table_exists(conn, qualified(schema, staging))


def _insert_merged(conn: psycopg.Connection[Any], schema: str, kind: RowKind) -> None:
    select = kind.merge_select(qualified(schema, STAGING + kind.table))
    cols = ", ".join(sql.Identifier(c).as_string() for c in kind.columns)
    conn.execute(f"INSERT INTO {qualified(schema, kind.table)} ({cols}) {select}".encode())


def _load(
    conn: psycopg.Connection[Any], schema: str, table: str, insert: Callable[[], None]
) -> None:
    """`insert` into `table` with its keys and indexes dropped, then built again."""
    name = qualified(schema, table)
    rebuild, dropped = [], set()
    for constraint, definition, index in conn.execute(_CONSTRAINTS, (name,)).fetchall():
        conn.execute(f"ALTER TABLE {name} DROP CONSTRAINT {constraint}".encode())
        rebuild.append(f"ALTER TABLE {name} ADD CONSTRAINT {constraint} {definition}")
        dropped.add(index)
    for index, index_name, definition in conn.execute(_INDEXES, (name,)).fetchall():
        if index not in dropped:
            conn.execute(f"DROP INDEX {index_name}".encode())
            rebuild.append(definition)
    # Empty already; truncated in this transaction so that, with wal_level=minimal (the local
    # stack), PostgreSQL writes the table and its indexes without WAL and syncs them at commit.
    conn.execute(f"TRUNCATE {name}".encode())
    insert()
    for statement in rebuild:
        conn.execute(statement.encode())


def _drop(conn: psycopg.Connection[Any], schema: str, table: str) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {qualified(schema, table)}".encode())


def _merge_credits(conn: psycopg.Connection[Any], schema: str, ctx: FoldContext) -> None:
    """Final credits: as staged for entities one flush held, recomputed for the others."""
    conn.execute(staging_sql(schema, _SPREAD))
    conn.execute(staging_sql(schema, _MERGE_CREDITS))
    insert = staging_sql(schema, q.INSERT_CREDITS)
    with conn.cursor(name="spread_facts") as facts, conn.cursor() as cur:
        facts.itersize = 20_000
        facts.execute(staging_sql(schema, _SPREAD_FACTS))
        rows: list[CreditRow] = []
        for key, group in groupby(map(fact_of, facts), key=attrgetter("kind", "entity_id")):
            rows += credits_of(key, group, ctx)
            if len(rows) >= 20_000:
                cur.execute(insert, [list(c) for c in zip(*rows, strict=True)])
                rows = []
        if rows:
            cur.execute(insert, [list(c) for c in zip(*rows, strict=True)])


def _merge_ids(conninfo: str, schema: str, reference: str | None) -> int:
    """applied_events from the staged ids (their staging dropped), with the reference's
    fingerprints and conflicts; the offsets come last."""
    merged = 0
    with psycopg.connect(conninfo) as conn, conn.transaction():
        if _still_staged(conn, schema, IDS):
            try:
                if reference is None:
                    statement = staging_sql(schema, _MERGE_IDS)
                else:
                    statement = staging_sql(schema, _MERGE_IDS_FROM, r=reference)
                with conn.transaction():  # a savepoint, so that the error is ours to raise
                    merged = _load_ids(conn, schema, statement)
            except psycopg.errors.UniqueViolation as exc:
                raise SharedIds(
                    f"an event id was read on two partitions ({exc.diag.message_detail})"
                ) from None
            if reference is not None:
                conn.execute(staging_sql(schema, _COPY_CONFLICTS, r=reference))
            _analyze(conn, schema, "applied_events")
            _drop(conn, schema, IDS)
    return merged


def _merge_offsets(conn: psycopg.Connection[Any], schema: str) -> None:
    """applied_offsets and the rest of the staging dropped: the build is complete."""
    with conn.transaction():
        if _still_staged(conn, schema, OFFSETS):
            conn.execute(staging_sql(schema, _MERGE_OFFSETS))
        for name in (OFFSETS, MERGING):
            _drop(conn, schema, name)


def _load_ids(conn: psycopg.Connection[Any], schema: str, statement: sql.Composed) -> int:
    inserted = 0

    def insert() -> None:
        nonlocal inserted
        inserted = conn.execute(statement).rowcount

    _load(conn, schema, "applied_events", insert)
    return inserted
