"""Session-wide real Kafka + PostgreSQL, and per-test topics, consumer groups and schemas.

The provider is chosen once per session, in this order:
1. `KAFKA_BOOTSTRAP` and `DATABASE_URL` set: use those servers.
2. A Docker engine answers: testcontainers (Kafka 3.9 in KRaft mode, PostgreSQL).
3. Otherwise the local stack (`salespulse stack up`), started here if it is not running and
   stopped at the end only if this session started it.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.support.docker import docker_engine_answers


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    database_url: str
    provider: str


def _local_stack() -> Iterator[Servers]:
    from salespulse.stack.config import StackConfig
    from salespulse.stack.kafka import LocalKafka
    from salespulse.stack.postgres import LocalPostgres

    config = StackConfig.from_env()
    kafka, postgres = LocalKafka(config), LocalPostgres(config)
    started_here = not (kafka.status().healthy and postgres.status().healthy)
    if started_here:
        postgres.up()
        kafka.up()
    try:
        yield Servers(config.kafka_bootstrap, config.database_url, "local stack")
    finally:
        if started_here:
            kafka.down()
            postgres.down()


def _containers() -> Iterator[Servers]:
    from tests.support.containers import kafka_and_postgres_containers

    with kafka_and_postgres_containers() as (bootstrap, url):
        yield Servers(bootstrap, url, "testcontainers")


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    kafka_env, db_env = os.environ.get("KAFKA_BOOTSTRAP"), os.environ.get("DATABASE_URL")
    if kafka_env and db_env:
        yield Servers(kafka_env, db_env, "environment")
    elif os.environ.get("SALESPULSE_TEST_PROVIDER") != "local" and docker_engine_answers():
        yield from _containers()
    else:
        yield from _local_stack()


@pytest.fixture(scope="session")
def kafka_bootstrap(servers: Servers) -> str:
    return servers.kafka_bootstrap


@pytest.fixture(scope="session")
def database_url(servers: Servers) -> str:
    return servers.database_url


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def unique_topic() -> str:
    """A fresh topic name for this test (not created: producers create it on first use)."""
    return _unique("test.events.")


@pytest.fixture
def unique_group() -> str:
    """A fresh consumer group id (and faust app id) for this test."""
    return _unique("test-group-")


@pytest.fixture
def pg_schema(database_url: str) -> Iterator[str]:
    """A fresh schema-name prefix; every schema starting with it is dropped after the test."""
    import psycopg

    prefix = _unique("t_")
    yield prefix
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextlib.contextmanager
def topic_maker(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """Creates fresh topics with N partitions; deletes them on leaving (any fixture scope)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests")
    created: list[str] = []

    def make(partitions: int = 3, name: str | None = None) -> str:
        topic = name or _unique("test.events.")
        admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1,
                      topic_configs={"retention.ms": "-1"})]
        )  # fmt: skip
        created.append(topic)
        return topic

    try:
        yield make
    finally:
        admin.close()
        if created:
            _delete_topics(kafka_bootstrap, created)


def _delete_topics(kafka_bootstrap: str, topics: list[str], within_s: float = 30.0) -> None:
    """Delete with a fresh client, retrying: a test may have killed and restarted the broker
    (the fault suite), and the client connected before refuses at once while it backs off."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError, UnknownTopicOrPartitionError

    deadline = time.monotonic() + within_s
    while True:
        admin = None
        try:
            admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests-cleanup")
            admin.delete_topics(topics)
            return
        except UnknownTopicOrPartitionError:
            return  # an earlier attempt deleted them before its answer was lost
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        finally:
            if admin is not None:
                admin.close()


@pytest.fixture
def make_topic(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """Create a fresh topic with N partitions; deleted after the test."""
    with topic_maker(kafka_bootstrap) as make:
        yield make
