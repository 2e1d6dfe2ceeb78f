"""Wiring shared by the commands: settings → fold context → the PostgreSQL projection store."""

from __future__ import annotations

from pathlib import Path

from projections.context import FoldContext
from projections.kpi import KpiDefinitions, default_kpis, load_kpis
from projections.registry import schema_for
from projections.store import PostgresProjectionStore
from salespulse.settings import Settings


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
