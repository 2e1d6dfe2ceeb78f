"""Create the Kafka topics SalesPulse needs, idempotently, with infinite retention."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from infra.settings import Settings

log = logging.getLogger(__name__)

# How long to look for a broker before giving up: long enough for a broker still starting, short
# enough that a wrong KAFKA_BOOTSTRAP is reported promptly (kafka-python's default is 30 s).
CONNECT_TIMEOUT_MS = 10_000

# The event log is the source of truth (DESIGN.md), so nothing on it ever expires; the
# dead-letter and broadcast topics are history too.
FOREVER: Mapping[str, str] = {"retention.ms": "-1"}


def ensure_topic(
    bootstrap: str,
    name: str,
    partitions: int,
    config: Mapping[str, str] = FOREVER,
    timeout_ms: int = 30_000,
) -> bool:
    """Create `name` unless it exists; True when this call created it. Never alters a topic."""
    return bool(_ensure(bootstrap, [name], partitions, config, timeout_ms))


def ensure_topics(settings: Settings, timeout_ms: int = 30_000) -> list[str]:
    """The events, dead-letter and broadcasts topics; returns the names this call created."""
    names = [settings.events_topic, settings.dlq_topic, settings.broadcasts_topic]
    return _ensure(settings.kafka_bootstrap, names, settings.partitions, FOREVER, timeout_ms)


def _ensure(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    config: Mapping[str, str],
    timeout_ms: int,
) -> list[str]:
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="salespulse-admin",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=min(timeout_ms, CONNECT_TIMEOUT_MS),
    )
    try:
        existing = set(admin.list_topics())
        created = []
        for name in names:
            if name in existing:
                continue
            try:
                admin.create_topics(
                    {
                        name: {
                            "num_partitions": partitions,
                            # -1: the broker's default.replication.factor (1 on the local stack).
                            "replication_factor": -1,
                            "configs": dict(config),
                        }
                    },
                    timeout_ms=timeout_ms,
                    # A producer right after creation must find a leader for every partition.
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                continue  # another process won the race, and it is configured the same way
            log.info("created topic %s (%d partitions, %s)", name, partitions, dict(config))
            created.append(name)
        return created
    finally:
        admin.close()
