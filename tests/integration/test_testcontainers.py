"""The testcontainers provider: real Kafka 3.9 (KRaft) and PostgreSQL in containers."""

from __future__ import annotations

import pytest

from tests.support.docker import NO_ENGINE_REASON, docker_engine_answers

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not docker_engine_answers(), reason=NO_ENGINE_REASON),
]


def test_containers_give_a_working_kafka_and_postgres() -> None:
    import psycopg
    from kafka import KafkaConsumer, KafkaProducer

    from tests.support.containers import kafka_and_postgres_containers

    with kafka_and_postgres_containers() as (bootstrap, url):
        # given a record produced to the containerised broker
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send("tc.smoke", b"hello").get(timeout=30)
        producer.close()
        # when it is consumed back, then it is the same bytes
        consumer = KafkaConsumer(
            "tc.smoke", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
            consumer_timeout_ms=20000,
        )  # fmt: skip
        assert [m.value for m in consumer] == [b"hello"]
        consumer.close()
        # and the containerised PostgreSQL answers queries
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
