"""The one migration runner: versioned SQL files applied once per schema, recorded beside them.

Every schema SalesPulse owns is created and upgraded here, from the files in `migrations/`
named `<kind>_<NNN>_<what>.sql`: `registry` (the projection versions, in the registry
schema), `broadcasts` (the announcement log, beside the registry) and `projection` (one set
of tables per projection version). A file's `{schema}` is the schema it applies to. Each
schema records the files applied to it in its own `schema_migrations`, so a file runs once,
in name order, and a newer release upgrades older schemas in place.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg import sql

MigrationKind = Literal["registry", "broadcasts", "projection"]

# Two workers starting together must not both run the DDL. Keyed by the registry, so that
# deployments sharing one database (tests, several prefixes) do not wait on each other.
LOCK_MIGRATIONS = "SELECT pg_advisory_xact_lock(hashtext('salespulse.migrate.' || %s))"
_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS {schema}"
_CREATE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
"""
_APPLIED = "SELECT name FROM {schema}.schema_migrations"
_RECORD = "INSERT INTO {schema}.schema_migrations (name) VALUES (%s)"


def migration_files(kind: MigrationKind) -> list[tuple[str, str]]:
    """(name, SQL) of every migration of a kind, in the order they apply."""
    folder = resources.files("projections.postgres").joinpath("migrations")
    found = [
        f for f in folder.iterdir() if f.name.startswith(f"{kind}_") and f.name.endswith(".sql")
    ]
    return [(f.name, f.read_text(encoding="utf-8")) for f in sorted(found, key=lambda f: f.name)]


def lock_migrations(conn: psycopg.Connection[Any], registry_schema: str) -> None:
    """Serialise schema changes of one deployment until the caller's transaction ends."""
    conn.execute(LOCK_MIGRATIONS, (registry_schema,))


def migrate(
    conn: psycopg.Connection[Any], kind: MigrationKind, schema: str, *, registry_schema: str
) -> list[str]:
    """Apply the kind's pending files to `schema` in one transaction; the names applied."""
    ident = sql.Identifier(schema)

    def stmt(template: str) -> sql.Composed:
        return sql.SQL(template).format(schema=ident)

    applied: list[str] = []
    with conn.transaction():
        lock_migrations(conn, registry_schema)
        conn.execute(stmt(_CREATE_SCHEMA))
        conn.execute(stmt(_CREATE_MIGRATIONS))
        done = {row[0] for row in conn.execute(stmt(_APPLIED))}
        for name, text in migration_files(kind):
            if name not in done:
                conn.execute(stmt(text))
                conn.execute(stmt(_RECORD), (name,))
                applied.append(name)
    return applied
