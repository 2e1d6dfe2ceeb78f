"""Kafka 3.9 (KRaft) and PostgreSQL in containers, for machines with a Docker engine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

# Confluent Platform 7.9 ships Apache Kafka 3.9; testcontainers drives its KRaft mode.
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
POSTGRES_IMAGE = "postgres:16-alpine"


@contextlib.contextmanager
def kafka_and_postgres_containers() -> Iterator[tuple[str, str]]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
    postgres = PostgresContainer(POSTGRES_IMAGE, username="salespulse", password="salespulse",
                                 dbname="salespulse", driver=None)  # fmt: skip
    with kafka, postgres:
        yield kafka.get_bootstrap_server(), postgres.get_connection_url()
