"""The bulk replay's merge on PostgreSQL: table by table, resumable, ids once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.fold import fold
from projections.model.kpi import default_kpis
from projections.postgres.bulk import STAGING, BulkLoader
from projections.postgres.bulk_merge import SharedIds, _job, merge_staged
from projections.postgres.rowkinds import ROW_KINDS
from projections.postgres.store import PostgresProjectionStore
from tests.support.sample import random_history

pytestmark = pytest.mark.integration

CTX = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.0825")})


@pytest.fixture
def staged(database_url: str, pg_schema: str) -> Iterator[Any]:
    """A factory: a migrated version schema with a history staged in two flushes."""

    def make(name: str, ids: dict[int, list[int]] | None = None) -> str:
        schema = f"{pg_schema}_{name}"
        with PostgresProjectionStore(
            database_url, CTX, schema, registry_schema=f"{pg_schema}_{name}_registry"
        ) as store:
            store.migrate()
        history = random_history(seed=3, reps=6, days=20, corrections=3)
        halves = [history[: len(history) // 2], history[len(history) // 2 :]]
        with BulkLoader(database_url, schema) as loader:
            loader.prepare()
            for n, half in enumerate(halves):
                aggregate = Aggregate()
                aggregate.add_all(d for e in half for d in fold(e, CTX))
                entities = aggregate.settle(CTX)
                staged = ids if ids is not None else {0: [e.event_id.int for e in half]}
                loader.flush(aggregate, staged if n == 0 else {}, {0: len(history)}, entities)
        return schema

    return make


def _tables(database_url: str, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    tables = [k.table for k in ROW_KINDS] + ["entity_credits", "applied_events"]
    with psycopg.connect(database_url) as conn:
        rows = {t: conn.execute(f'SELECT * FROM "{schema}"."{t}"').fetchall() for t in tables}  # type: ignore[call-overload]
        offsets = conn.execute(f'SELECT partition, "offset" FROM "{schema}".applied_offsets')  # type: ignore[call-overload]
        rows["applied_offsets"] = offsets.fetchall()
    return {t: sorted(map(repr, r)) for t, r in rows.items()}


def _staging_left(database_url: str, schema: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            (schema, STAGING.replace("_", r"\_") + "%"),
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_a_merge_stopped_after_some_tables_resumes_and_merges_none_twice(
    database_url: str, staged: Any
) -> None:
    # given the same staged build twice
    once, resumed = staged("once"), staged("resumed")
    # when one is merged in one go, and the other had two tables merged (and committed) by a
    # merge that stopped there before it is merged again
    merge_staged(database_url, once, CTX)
    by_table = {k.table: k for k in ROW_KINDS}
    for table in ("metric_daily", "opportunities"):
        _job(database_url, resumed, by_table[table])()
    merge_staged(database_url, resumed, CTX)
    # then both versions hold the same rows, and no staging table is left
    first, second = _tables(database_url, once), _tables(database_url, resumed)
    assert first["metric_daily"] and first["entity_credits"], "the sample fills the tables"
    assert first == second
    assert _staging_left(database_url, once) == _staging_left(database_url, resumed) == []


def test_an_id_staged_on_two_partitions_is_refused_and_applied_events_keeps_its_key(
    database_url: str, staged: Any
) -> None:
    # given ids staged for two partitions, one of them on both (the build folded it twice)
    schema = staged("ids", ids={0: [7, 8], 1: [7, 9]})
    # when merged, the merge refuses (the replay then builds through the live path)
    with pytest.raises(SharedIds, match="two partitions"):
        merge_staged(database_url, schema, CTX)
    # and applied_events is left as it was, with its primary key
    with psycopg.connect(database_url) as conn:
        ids = conn.execute(f'SELECT event_id FROM "{schema}".applied_events').fetchall()
        keys = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid = %s::regclass",
            (f'"{schema}".applied_events',),
        ).fetchone()
    assert ids == []
    assert keys == (1,)
