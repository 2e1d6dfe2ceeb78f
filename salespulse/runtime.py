"""Wiring shared by the commands: settings → fold context → the PostgreSQL projection store."""

from __future__ import annotations

from pathlib import Path

import psycopg

from infra.settings import Settings
from projections.model.context import FoldContext
from projections.model.kpi import KpiDefinitions, default_kpis, load_kpis
from projections.postgres.migrate import lock_migrations
from projections.postgres.registry import (
    active_version,
    applied_offsets,
    ensure_registry,
    list_versions,
    schema_for,
)
from projections.postgres.store import PostgresProjectionStore


def fold_context(settings: Settings, kpis: KpiDefinitions | None = None) -> FoldContext:
    return FoldContext(
        kpis or default_kpis(),
        tz=settings.zone,
        base_currency=settings.base_currency,
        fx_rates=dict(settings.fx_rates),
    )


def open_store(
    settings: Settings, kpis_file: Path | None = None, *, migrate: bool = True
) -> PostgresProjectionStore:
    """The store of one projection version; its registry lives in the schema `<prefix>`."""
    kpis = load_kpis(kpis_file) if kpis_file else default_kpis()
    store = PostgresProjectionStore(
        settings.database_url,
        fold_context(settings, kpis),
        schema_for(kpis.version, settings.schema_prefix),
        registry_schema=settings.schema_prefix,
    )
    if migrate:
        store.migrate()
    return store


def ensure_active_version(settings: Settings, kpis_file: Path | None = None) -> None:
    """On a fresh database, create and activate the first version (default: version 1).

    With a version already active nothing happens: a revised definition becomes active only
    through a replay and a switch, never because a worker started with another file.
    """
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        with conn.transaction():
            lock_migrations(conn, settings.schema_prefix)
            ensure_registry(conn, settings.schema_prefix)
        if active_version(conn, settings.schema_prefix) is not None:
            return
    open_store(settings, kpis_file).close()


def live_offsets(settings: Settings) -> dict[int, dict[int, int]]:
    """Per live version (active or ready), the last applied offset per partition."""
    out: dict[int, dict[int, int]] = {}
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for v in list_versions(conn, settings.schema_prefix):
            if v.status in ("active", "ready"):
                out[v.version] = applied_offsets(conn, v.schema_name)
    return out
