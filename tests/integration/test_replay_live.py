"""`replay --preview` finishes while the simulator keeps publishing, and the workers take over."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer

from infra.offsets import end_offsets
from projections.memory.oracle import build_oracle
from projections.model.kpi import load_kpis
from projections.postgres.registry import list_versions
from projections.postgres.store import PostgresProjectionStore
from salespulse.runtime import fold_context
from schemas.codec import decode
from schemas.events import AnyEvent
from tests.integration.conftest import Deployment
from tests.support.compare import differences, query_suite

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"


def _log(deployment: Deployment) -> list[AnyEvent]:
    consumer = KafkaConsumer(
        deployment.settings.events_topic, bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=3000,
    )  # fmt: skip
    events = [decode(m.value) for m in consumer]
    consumer.close()
    return events


def test_replay_preview_completes_while_the_simulator_publishes(deployment: Deployment) -> None:
    settings = deployment.settings
    total = lambda: sum(end_offsets(settings.kafka_bootstrap, settings.events_topic).values())  # noqa: E731
    # given a worker applying a simulated history that keeps arriving at 500 events/s
    deployment.start_worker()
    simulate = deployment.cli(
        "simulate", "--publish", "--rate", "500", "--reps", "10", "--days", "365"
    )
    try:
        deadline = time.monotonic() + 60
        while total() < 3000:
            assert simulate.poll() is None, simulate.communicate()[1]
            assert time.monotonic() < deadline, "the simulator published too little"
            time.sleep(0.2)
        # when a replay with --preview runs under that live traffic
        replay = deployment.cli("replay", "--kpis", str(REVISED), "--preview", "--no-progress")
        started = time.monotonic()
        out, err = replay.communicate(timeout=180)
        print(f"replay --preview took {time.monotonic() - started:.1f} s under live traffic")
        # then it finishes (within a few seconds of a head that keeps moving) and previews
        assert replay.returncode == 0, err
        assert simulate.poll() is None, "the traffic was still running when the replay ended"
        assert "ready" in err and out.splitlines()[0].split()[:2] == ["scope", "metric"]
    finally:
        simulate.terminate()
        simulate.communicate(timeout=30)
    # and the live worker kept the ready version current from the offsets the replay recorded:
    # once traffic stops, both versions equal their oracles over every event on the log
    deployment.wait_idle()
    events = _log(deployment)
    v1 = fold_context(settings)
    v2 = dataclasses.replace(v1, kpis=load_kpis(REVISED))
    with psycopg.connect(settings.database_url) as conn:
        schemas = {v.version: v.schema_name for v in list_versions(conn, settings.schema_prefix)}
    first = min(e.occurred_at for e in events).date() - timedelta(days=1)
    last = max(e.occurred_at for e in events).date() + timedelta(days=2)
    for ctx in (v1, v2):
        oracle = build_oracle(events, ctx)
        suite = query_suite(oracle, ctx, datetime.now(UTC), first, last)
        with PostgresProjectionStore(
            settings.database_url, ctx, schemas[ctx.kpis.version],
            registry_schema=settings.schema_prefix,
        ) as store, store.snapshot() as snapshot:  # fmt: skip
            assert differences(suite, snapshot, oracle) == [], f"version {ctx.kpis.version}"
