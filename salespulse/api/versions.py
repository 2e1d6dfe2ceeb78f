"""Other KPI versions than the active one, for the preview and the switch of the versions page.

The API reads only the active version everywhere else; a candidate is read here, in the same
snapshot as the active one, so the two are compared at one moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from projections.model.kpi import parse_kpis
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import VersionConflict, activate_version, list_versions
from salespulse.api.errors import ApiError
from salespulse.api.readside import ReadView

# Only a version that caught up with the log: a building one would show readers half the history.
ACTIVATABLE = frozenset({"ready"})


class CandidateSource(Protocol):
    """Views of the active and another version, and the switch (PostgreSQL; None in memory)."""

    def compare(self, version: int) -> AbstractContextManager[tuple[ReadView, ReadView]]: ...

    def activate(self, version: int) -> None: ...


class PgCandidates:
    """Both versions read in one REPEATABLE READ snapshot; activation as the CLI does it."""

    def __init__(self, pool: ConnectionPool[Any], registry_schema: str) -> None:
        self.pool = pool
        self.registry_schema = registry_schema

    @contextmanager
    def compare(self, version: int) -> Iterator[tuple[ReadView, ReadView]]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            rows = {v.version: v for v in list_versions(conn, self.registry_schema)}
            active = next((v for v in rows.values() if v.status == "active"), None)
            other = rows.get(version)
            if other is None or other.status == "retired":
                raise ApiError(404, "version", f"no projection version {version} to compare")
            if active is None or other.version == active.version:
                raise ApiError(409, "version", f"version {version} is the active one")

            def view(v: Any) -> ReadView:
                kpis = parse_kpis(v.kpis_toml, origin=f"projection version {v.version}")
                return ReadView(PostgresReadModel(conn, v.schema_name, org_once=True), kpis)

            yield view(active), view(other)

    def activate(self, version: int) -> None:
        with self.pool.connection() as conn:
            rows = {v.version: v for v in list_versions(conn, self.registry_schema)}
            if version not in rows:
                raise ApiError(404, "version", f"no projection version {version}")
            if rows[version].status not in ACTIVATABLE:
                raise ApiError(409, "version", f"version {version} is {rows[version].status}")
            try:
                activate_version(conn, version, self.registry_schema)
            except (VersionConflict, psycopg.errors.Error) as exc:
                raise ApiError(409, "version", str(exc)) from exc
