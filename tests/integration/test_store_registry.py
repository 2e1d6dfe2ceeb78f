"""Projection versions: idempotent migrations, the registry, and the atomic switch."""

from __future__ import annotations

import dataclasses
from datetime import date

import psycopg
import pytest

from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from projections.model.readmodel import RepSpan
from projections.postgres.registry import (
    VersionConflict,
    activate_version,
    active_version,
    list_versions,
)
from projections.postgres.store import PostgresProjectionStore
from tests.support.builders import Events

pytestmark = pytest.mark.integration

V2 = parse_kpis(
    'version = 2\n[metrics.visits]\nevent = "VisitCompleted"\nmeasure = "count"\n'
    'where = ["face_to_face = true", "duration_min >= 20"]\n'
)


def open_store(url: str, prefix: str, ctx: FoldContext) -> PostgresProjectionStore:
    schema = f"{prefix}_v{ctx.kpis.version}"
    return PostgresProjectionStore(url, ctx, schema, registry_schema=f"{prefix}_registry")


def test_migrate_twice_is_harmless_and_the_first_version_becomes_active(
    database_url: str, pg_schema: str
) -> None:
    with open_store(database_url, pg_schema, FoldContext(default_kpis())) as store:
        store.migrate()
        store.migrate()
        (info,) = list_versions(store.conn, store.registry_schema)
        assert (info.version, info.status, info.schema_name) == (1, "active", store.schema)
        assert info.kpis_toml == default_kpis().source


def test_a_replayed_version_builds_beside_the_active_one_and_switches_atomically(
    database_url: str, pg_schema: str
) -> None:
    e = Events()
    short, long = e.visit("r1", "2026-11-03", duration_min=5), e.visit("r1", "2026-11-03")
    with (
        open_store(database_url, pg_schema, FoldContext(default_kpis())) as v1,
        open_store(database_url, pg_schema, FoldContext(V2)) as v2,
    ):
        v1.migrate()
        v2.migrate()  # a version is already active: v2 stays building
        statuses = {v.version: v.status for v in list_versions(v1.conn, v1.registry_schema)}
        assert statuses == {1: "active", 2: "building"}
        for store in (v1, v2):
            store.apply_batch([(0, 0, short), (0, 1, long)])
        with psycopg.connect(database_url, autocommit=True) as listener:
            listener.execute('LISTEN "salespulse_versions"')
            activate_version(v1.conn, 2, v1.registry_schema)
            (note,) = list(listener.notifies(timeout=5, stop_after=1))
        assert note.payload == "2"
        statuses = {v.version: v.status for v in list_versions(v1.conn, v1.registry_schema)}
        assert statuses == {1: "retired", 2: "active"}
        active = active_version(v1.conn, v1.registry_schema)
        assert active is not None and active.schema_name == v2.schema
        # Each version counted under its own definition, with its own offsets.
        assert [d.value for d in v1.metric_days(["visits"], _all("r1"))] == [2]
        assert [d.value for d in v2.metric_days(["visits"], _all("r1"))] == [1]
        assert v1.offsets() == v2.offsets() == {0: 1}


def test_a_version_number_reused_with_other_definitions_is_refused(
    database_url: str, pg_schema: str
) -> None:
    with open_store(database_url, pg_schema, FoldContext(default_kpis())) as store:
        store.migrate()
    changed = dataclasses.replace(default_kpis(), source=default_kpis().source + "\n# edited")
    with (
        open_store(database_url, pg_schema, FoldContext(changed)) as store,
        pytest.raises(VersionConflict, match="give the revised file a new version number"),
    ):
        store.migrate()


def _all(rep: str) -> list[RepSpan]:
    return [RepSpan(rep, date(2000, 1, 1), date(2100, 1, 1))]
