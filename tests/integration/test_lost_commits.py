"""The store, not Kafka, is the truth of what was applied: gaps are read from the log.

PostgreSQL acknowledges a commit before it is on disk (synchronous_commit=off), so a crash
can take the last commits with it while the worker's consumer has moved past them; and
Kafka's committed offsets can be ahead of the store's. On a log that keeps flowing the next
batch finds the gap; these tests cover the quiet log, where no next batch comes (CI on
b70e09c: a worker idled for two minutes with 109 events applied by nobody).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from infra.offsets import end_offsets
from producers.simulator import SimConfig
from producers.simulator.history import iter_events
from schemas.events import AnyEvent, parse_event
from tests.integration.conftest import Deployment
from tests.support.compare import assert_store_is_the_oracle

pytestmark = pytest.mark.integration

START = date(2026, 3, 2)
SIM = SimConfig(reps=6, days=7, seed=31, start=START)


def _events() -> list[AnyEvent]:
    return [parse_event(raw) for raw in iter_events(SIM)]


def _publish(deployment: Deployment, events: list[AnyEvent]) -> None:
    with deployment.publisher() as publisher:
        publisher.publish_many(events)
        publisher.flush()


def _assert_store_is_the_oracle(deployment: Deployment, events: list[AnyEvent]) -> None:
    as_of = datetime.combine(START + timedelta(days=5), datetime.min.time(), UTC)
    assert_store_is_the_oracle(deployment, events, START, START + timedelta(days=SIM.days), as_of)


def _lose_every_commit(deployment: Deployment) -> None:
    """What a crash that lost the commits leaves: the version's tables as before them
    (the schema itself, with its record of migrations, was committed long before)."""
    with deployment.store() as store:
        schema = store.schema
    with psycopg.connect(deployment.settings.database_url, autocommit=True) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> %s",
                (schema, "schema_migrations"),
            ).fetchall()
        ]
        assert "applied_offsets" in tables, tables
        conn.execute("TRUNCATE " + ", ".join(f'"{schema}"."{t}"' for t in tables))


def test_commits_lost_on_a_quiet_log_are_read_again(
    new_deployment: Callable[..., Deployment],
) -> None:
    # given a worker that applied a history and then saw no record for a while
    events = _events()
    deployment = new_deployment(partitions=3)
    deployment.start_worker()
    _publish(deployment, events)
    deployment.wait_idle(timeout=120)
    _assert_store_is_the_oracle(deployment, events)
    # when the store loses what it had acknowledged (a crash with synchronous_commit=off)
    # while no new record arrives on any partition
    _lose_every_commit(deployment)
    # then the idle worker notices the store behind its consumer and reads the gap again
    deployment.wait_idle(timeout=60)
    _assert_store_is_the_oracle(deployment, events)


def test_kafka_offsets_ahead_of_the_store_do_not_skip_events(
    new_deployment: Callable[..., Deployment],
) -> None:
    # given a history in the log, and the worker group's Kafka offsets already at its end
    # while the store has applied nothing of it (the commits PostgreSQL lost)
    events = _events()
    deployment = new_deployment(partitions=3)
    _publish(deployment, events)
    s = deployment.settings
    end = end_offsets(s.kafka_bootstrap, s.events_topic)
    assert sum(end.values()) == len(events)
    committer = KafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap, group_id=s.worker_group, enable_auto_commit=False
    )
    try:
        at_end = {
            TopicPartition(s.events_topic, p): OffsetAndMetadata(o, "", -1) for p, o in end.items()
        }
        committer.commit(at_end)
    finally:
        committer.close()
    # when a worker starts
    deployment.start_worker()
    # then it starts where the store says, not where Kafka says: nothing is skipped
    deployment.wait_idle(timeout=120)
    _assert_store_is_the_oracle(deployment, events)
