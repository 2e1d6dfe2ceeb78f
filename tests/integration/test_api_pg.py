"""The API over real PostgreSQL and Kafka: same answers as the oracle, ingest, LISTEN, lag."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from infra.settings import Settings
from projections.broadcasts.log import BroadcastLog, deal_won_broadcast, milestone_broadcast
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.postgres.store import PostgresProjectionStore
from salespulse.api.auth import TokenBook
from salespulse.api.server import build_app
from schemas.codec import decode
from tests.integration.conftest import Deployment
from tests.support.api import AUTH_TOML, NOW, auth, history, make_world
from tests.support.builders import Events

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CTX = FoldContext(default_kpis())
SAME_ANSWERS = [
    "/api/goals?scope=rep:r1&period=2026-11",
    "/api/goals?scope=unit:d1&period=2026-11",
    "/api/leaderboard?scope=unit:t1&period=2026-11",
    "/api/leaderboard?period=2026-11&limit=3",
    "/api/contest?units=t1,t2&period=2026-11",
    "/api/funnel?scope=company&period=2026-11",
    "/api/behaviour?scope=unit:t1&period=2026-11",
    "/api/plan?scope=rep:r1&period=2026-11",
    "/api/reps/r1/daily?date=2026-11-10",
    "/api/targets/history?scope=rep:r1&metric=revenue&period=2026-11",
    "/api/org",
    "/api/broadcasts?limit=10",
]


@dataclass
class PgWorld:
    client: TestClient
    store: PostgresProjectionStore
    log: BroadcastLog
    topic: str
    bootstrap: str


@pytest.fixture
def pg_world(
    kafka_bootstrap: str, database_url: str, unique_topic: str, pg_schema: str
) -> Iterator[PgWorld]:
    registry = pg_schema  # the worker's convention: registry in <prefix>, versions <prefix>_vN

    @contextmanager
    def connect() -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            yield conn

    with PostgresProjectionStore(
        database_url, CTX, f"{pg_schema}_v1", registry_schema=registry
    ) as store:
        store.migrate()
        store.apply_batch([(0, i, e) for i, e in enumerate(history(Events()))])
        log = BroadcastLog(connect, registry)
        log.ensure_schema()
        log.record([deal_won_broadcast(w) for w in reversed(store.deal_wins())])
        settings = Settings(
            kafka_bootstrap=kafka_bootstrap,
            database_url=database_url,
            events_topic=unique_topic,
            partitions=1,
            schema_prefix=pg_schema,
        )
        app = build_app(
            settings,
            TokenBook.from_toml(AUTH_TOML),
            clock=lambda: NOW,
            keepalive_s=0.2,
            min_refresh_s=0.0,
        )
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield PgWorld(client, store, log, unique_topic, kafka_bootstrap)


def test_every_query_answers_as_the_in_memory_oracle_does(pg_world: PgWorld) -> None:
    memory = make_world()
    for url in SAME_ANSWERS:
        from_pg = pg_world.client.get(url, headers=auth("admin"))
        assert from_pg.status_code == 200, (url, from_pg.text)
        assert _normal(from_pg.json()) == _normal(memory.get(url).json()), url


def _normal(value: Any) -> Any:
    """Decimals compared by value: amounts that went through Avro carry its scale (500.2500)
    and PostgreSQL numeric sums keep it, in fields and in the daily summary's sentences."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str) and value.replace(".", "", 1).lstrip("-").isdigit():
        return Decimal(value).normalize()
    if isinstance(value, str):
        return _DECIMAL_IN_TEXT.sub(lambda m: format(Decimal(m[0]).normalize(), "f"), value)
    return value


_DECIMAL_IN_TEXT = re.compile(r"\d+\.\d+")


def _without_set_by(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_set_by(v) for k, v in value.items() if k != "set_by"}
    if isinstance(value, list):
        return [_without_set_by(v) for v in value]
    return value


def test_ingested_events_reach_the_log_and_show_as_lag(pg_world: PgWorld) -> None:
    events = [Events(first_id=70_000 + i).call("r1", NOW) for i in range(3)]
    body = [json.loads(e.model_dump_json(exclude_none=True)) for e in events]
    response = pg_world.client.post("/api/events", json=body, headers=auth("producer"))
    assert response.status_code == 202 and len(response.json()["accepted"]) == 3
    consumer = KafkaConsumer(
        pg_world.topic,
        bootstrap_servers=pg_world.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        seen = [decode(record.value).event_id for record in consumer]
    finally:
        consumer.close()
    assert seen == [e.event_id for e in events]
    metrics = pg_world.client.get("/metrics", headers=auth("admin")).text
    assert 'salespulse_log_end_offset{version="1",partition="0"} 3' in metrics
    versions = pg_world.client.get("/api/kpi-versions", headers=auth("admin")).json()
    assert [(v["version"], v["status"]) for v in versions["versions"]] == [(1, "active")]


def test_lag_is_log_end_minus_the_next_offset_to_apply(
    kafka_bootstrap: str, database_url: str, unique_topic: str, pg_schema: str
) -> None:
    registry = pg_schema
    with PostgresProjectionStore(
        database_url, CTX, f"{pg_schema}_v1", registry_schema=registry
    ) as store:
        store.migrate()
        settings = Settings(
            kafka_bootstrap=kafka_bootstrap,
            database_url=database_url,
            events_topic=unique_topic,
            partitions=1,
        )
        app = build_app(settings, TokenBook.from_toml(AUTH_TOML), registry_schema=registry)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            events = [Events(first_id=60_000 + i).call("r1", NOW) for i in range(4)]
            body = [json.loads(e.model_dump_json(exclude_none=True)) for e in events]
            assert client.post("/api/events", json=body, headers=auth("admin")).status_code == 202
            metrics = client.get("/metrics", headers=auth("admin")).text
            assert 'salespulse_consumer_lag{version="1",partition="0"} 4' in metrics
            store.apply_batch([(0, i, e) for i, e in enumerate(events[:3])])
            # the end-offset cache lives 2 s; versions re-read applied offsets every time
            versions = client.get("/api/kpi-versions", headers=auth("admin")).json()
            assert versions["versions"][0]["lag"] == 1


def test_the_stream_follows_notify_from_the_log_and_the_store(pg_world: PgWorld) -> None:
    headers = auth("admin")
    with pg_world.client.stream("GET", "/api/stream?scope=unit:t1", headers=headers) as r:
        lines = r.iter_lines()
        assert _next(lines, "leaderboard")["entries"][0]["rep_id"] == "r2"
        # a worker records a milestone: NOTIFY salespulse_broadcasts wakes the stream
        pg_world.log.record(
            [milestone_broadcast("unit:t1", "revenue", "2026-11", 50, Decimal(1), Decimal(2), NOW)]
        )
        assert _next(lines, "milestone")["seq"] == 8
        # a batch lands: the store's NOTIFY refreshes the leaderboard
        order = Events(first_id=50_000).order("r3", "2026-11-15T10:00", 900)
        pg_world.store.apply_batch([(0, 1000, order)])
        assert _next(lines, "leaderboard")["entries"][0]["rep_id"] == "r3"


def _next(lines: Iterator[str], event: str) -> Any:
    current = None
    for line in lines:
        if line.startswith("event: "):
            current = line.removeprefix("event: ")
        elif line.startswith("data: ") and current == event:
            return json.loads(line.removeprefix("data: "))
    raise AssertionError(f"stream ended before a {event} frame")


def test_events_posted_to_the_api_come_back_through_a_worker_and_the_stream(
    deployment: Deployment,
) -> None:
    # given a worker and the API of one private deployment
    deployment.start_worker()
    app = build_app(
        deployment.settings,
        TokenBook.from_toml(AUTH_TOML),
        clock=lambda: NOW,
        keepalive_s=0.2,
        min_refresh_s=0.0,
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # when the whole history is posted to the API and the worker has applied it
        body = [json.loads(e.model_dump_json(exclude_none=True)) for e in history(Events())]
        response = client.post("/api/events", json=body, headers=auth("producer"))
        posted = response.json()
        assert "accepted" in posted, response.text
        assert (len(posted["accepted"]), posted["rejected"]) == (len(body), [])
        deployment.wait_idle()
        # then every answer is the oracle's, whatever order the partitions were applied in
        memory = make_world()
        for url in SAME_ANSWERS[:-1]:  # broadcasts: the worker does not record them yet
            answer, expected = client.get(url, headers=auth("admin")).json(), memory.get(url).json()
            if url.startswith("/api/targets/history"):
                # Posted without set_by, the targets are recorded as set by the caller.
                assert {e["set_by"] for e in answer["entries"]} == {"producer #4"}
                answer, expected = _without_set_by(answer), _without_set_by(expected)
            assert _normal(answer) == _normal(expected), url
        # and a new order posted while a dashboard listens moves the leaderboard live
        with client.stream("GET", "/api/stream?scope=unit:t1", headers=auth("rep_r1")) as r:
            lines = r.iter_lines()
            assert _next(lines, "leaderboard")["entries"][0]["rep_id"] == "r2"
            order = Events(first_id=40_000).order("r3", "2026-11-15T10:00", 900)
            one = [json.loads(order.model_dump_json(exclude_none=True))]
            assert client.post("/api/events", json=one, headers=auth("admin")).status_code == 202
            assert _next(lines, "leaderboard")["entries"][0]["rep_id"] == "r3"


def test_each_role_gets_exactly_its_scope_over_real_postgres(pg_world: PgWorld) -> None:
    # The unit tests' role matrix, replayed against the PostgreSQL-backed app: every endpoint
    # family, every role, allowed and forbidden — and 401 without a token.
    from tests.support.api import auth
    from tests.unit.test_api_auth import MATRIX, ROLES

    for url, expected in MATRIX.items():
        got = tuple(pg_world.client.get(url, headers=auth(r)).status_code for r in ROLES)
        assert got == expected, url
        assert pg_world.client.get(url).status_code == 401, url
