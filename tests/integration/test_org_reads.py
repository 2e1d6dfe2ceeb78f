"""One API request reads the org once: units and memberships are not re-read by each query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from infra.settings import Settings
from projections.broadcasts.log import BroadcastLog
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.postgres.store import PostgresProjectionStore
from salespulse.api.app import create_app
from salespulse.api.auth import TokenBook
from salespulse.api.pg import PgReadSide
from tests.support.api import AUTH_TOML, NOW, auth, history
from tests.support.builders import Events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


class CountingConnection(psycopg.Connection[Any]):
    """A real connection that also keeps the text of every statement it executes."""

    statements: list[str] = []  # noqa: RUF012 (shared by the pool's connections on purpose)

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        CountingConnection.statements.append(text)
        return super().execute(query, *args, **kwargs)


class NoPublisher:
    def publish(self, event: Any) -> None:
        raise AssertionError("a read must not publish")

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, raise_errors: bool = True) -> None: ...


@pytest.fixture
def counting_client(database_url: str, pg_schema: str) -> Iterator[TestClient]:
    ctx = FoldContext(default_kpis())
    with PostgresProjectionStore(
        database_url, ctx, f"{pg_schema}_v1", registry_schema=pg_schema
    ) as store:
        store.migrate()
        store.apply_batch([(0, i, e) for i, e in enumerate(history(Events()))])
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url, connection_class=CountingConnection, min_size=1, max_size=2, open=True
    )
    log = BroadcastLog(pool.connection, pg_schema)
    log.ensure_schema()
    app = create_app(
        Settings(database_url=database_url, schema_prefix=pg_schema),
        PgReadSide(pool, pg_schema),
        NoPublisher,
        broadcasts=log,
        tokens=TokenBook.from_toml(AUTH_TOML),
        clock=lambda: NOW,
    )
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client
    finally:
        pool.close()


def _org_reads(statements: list[str]) -> dict[str, int]:
    return {
        table: sum(f".{table} " in s or f'.{table}"' in s or f".{table}\n" in s for s in statements)
        for table in ("units", "rep_memberships")
    }


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/api/goals?scope=unit:d1&period=2026-11", "manager_d1"),
        ("/api/goals?scope=rep:r1&period=2026-11", "manager_d1"),
        ("/api/goals?scope=company&period=2026-11", "admin"),
        ("/api/funnel?scope=company&period=2026-11", "admin"),
        ("/api/leaderboard?scope=unit:t1&period=2026-11", "manager_d1"),
    ],
)
def test_given_a_request_when_answered_then_the_org_is_read_once(
    counting_client: TestClient, url: str, who: str
) -> None:
    CountingConnection.statements.clear()
    response = counting_client.get(url, headers=auth(who))
    assert response.status_code == 200, response.text
    # One org read: the units once and the memberships (reps) once, for the whole request.
    assert _org_reads(CountingConnection.statements) == {"units": 1, "rep_memberships": 1}
