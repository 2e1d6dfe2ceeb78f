"""Projection versions: schema names, the registry table, the atomic switch of the active one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from projections.postgres.migrate import migrate
from projections.postgres.statements import SELECT_OFFSETS

VERSIONS_CHANNEL = "salespulse_versions"

_SELECT = """
SELECT version, schema_name, status, kpis_toml, created_at, activated_at
FROM {r}.projection_versions
"""
_INSERT = """
INSERT INTO {r}.projection_versions (version, schema_name, status, kpis_toml)
VALUES (%s, %s, 'building', %s) ON CONFLICT (version) DO NOTHING
"""
_RETIRE_ACTIVE = """
UPDATE {r}.projection_versions SET status = 'retired' WHERE status = 'active' AND version <> %s
"""
_ACTIVATE = """
UPDATE {r}.projection_versions SET status = 'active', activated_at = now()
WHERE version = %s AND status <> 'active'
"""


_MARK_READY = """
UPDATE {r}.projection_versions SET status = 'ready' WHERE version = %s AND status = 'building'
"""
_RETIRE = "UPDATE {r}.projection_versions SET status = 'retired' WHERE version = %s"


class VersionConflict(RuntimeError):
    """A version number reused with different KPI definitions, or an unknown version."""


@dataclass(frozen=True)
class VersionInfo:
    """A row of the registry."""

    version: int
    schema_name: str
    status: str  # building, active or retired
    kpis_toml: str
    created_at: datetime
    activated_at: datetime | None


def schema_for(version: int, prefix: str = "sp") -> str:
    """The PostgreSQL schema holding a projection version, e.g. `sp_v1`."""
    return f"{prefix}_v{version}"


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of a projection schema: `salespulse_v1` for `sp_v1`."""
    return "salespulse_" + schema.removeprefix("sp_")


def _stmt(template: str, registry_schema: str) -> sql.Composed:
    return sql.SQL(template).format(r=sql.Identifier(registry_schema))


def ensure_registry(conn: psycopg.Connection[Any], registry_schema: str = "public") -> None:
    """Create or upgrade the registry table (migrations/registry_*.sql; idempotent)."""
    migrate(conn, "registry", registry_schema, registry_schema=registry_schema)


def applied_offsets(conn: psycopg.Connection[Any], schema: str) -> dict[int, int]:
    """A version's last applied offset per partition ({} before its tables exist)."""
    try:
        with conn.transaction():  # a savepoint: a missing table must not abort the caller's
            rows = conn.execute(sql.SQL(SELECT_OFFSETS).format(s=sql.Identifier(schema)))
            return dict(rows.fetchall())
    except psycopg.errors.UndefinedTable:
        return {}


def list_versions(
    conn: psycopg.Connection[Any], registry_schema: str = "public"
) -> list[VersionInfo]:
    """Every version, oldest first."""
    rows = conn.execute(_stmt(_SELECT + " ORDER BY version", registry_schema)).fetchall()
    return [VersionInfo(*r) for r in rows]


def active_version(
    conn: psycopg.Connection[Any], registry_schema: str = "public"
) -> VersionInfo | None:
    """The version readers should see, if any."""
    return next((v for v in list_versions(conn, registry_schema) if v.status == "active"), None)


def register_version(
    conn: psycopg.Connection[Any],
    version: int,
    schema: str,
    kpis_toml: str,
    registry_schema: str = "public",
) -> VersionInfo:
    """Record a version as building unless known; the same number must mean the same file."""
    conn.execute(_stmt(_INSERT, registry_schema), (version, schema, kpis_toml))
    info = next(v for v in list_versions(conn, registry_schema) if v.version == version)
    if info.kpis_toml != kpis_toml or info.schema_name != schema:
        raise VersionConflict(
            f"projection version {version} is registered with other KPI definitions "
            f"(schema {info.schema_name}); give the revised file a new version number"
        )
    return info


def mark_ready(
    conn: psycopg.Connection[Any], version: int, registry_schema: str = "public"
) -> None:
    """A building version has caught up with the log: live workers now keep it current."""
    conn.execute(_stmt(_MARK_READY, registry_schema), (version,))
    conn.execute("SELECT pg_notify(%s, %s)", (VERSIONS_CHANNEL, str(version)))


def retire_version(
    conn: psycopg.Connection[Any], version: int, registry_schema: str = "public"
) -> str:
    """Retire a version that is not active and drop its tables; returns the dropped schema."""
    with conn.transaction():
        info = next((v for v in list_versions(conn, registry_schema) if v.version == version), None)
        if info is None:
            raise VersionConflict(f"projection version {version} is not registered")
        if info.status == "active":
            raise VersionConflict(
                f"projection version {version} is active: activate another one first"
            )
        conn.execute(_stmt(_RETIRE, registry_schema), (version,))
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(info.schema_name))
        )
        conn.execute("SELECT pg_notify(%s, %s)", (VERSIONS_CHANNEL, str(version)))
    return info.schema_name


def activate_version(
    conn: psycopg.Connection[Any], version: int, registry_schema: str = "public"
) -> None:
    """Make `version` the active one and retire the previous one, in one transaction."""
    with conn.transaction():
        if not any(v.version == version for v in list_versions(conn, registry_schema)):
            raise VersionConflict(f"projection version {version} is not registered")
        conn.execute(_stmt(_RETIRE_ACTIVE, registry_schema), (version,))
        conn.execute(_stmt(_ACTIVATE, registry_schema), (version,))
        conn.execute("SELECT pg_notify(%s, %s)", (VERSIONS_CHANNEL, str(version)))
