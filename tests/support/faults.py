"""Fault injection for the fault suite: crash the local stack's servers, publish through it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest
from kafka import KafkaConsumer

from infra.publisher import EventPublisher, PublishError
from infra.settings import Settings
from salespulse.stack.config import StackConfig
from salespulse.stack.kafka import LocalKafka
from salespulse.stack.postgres import LocalPostgres
from salespulse.stack.process import is_alive, read_pid, wait_until
from schemas.events import AnyEvent


@dataclass
class LocalServers:
    """The local stack's broker and cluster, when they are the servers under test."""

    kafka: LocalKafka
    postgres: LocalPostgres

    def crash_postgres(self) -> None:
        """`pg_ctl stop -m immediate`: every backend dies, no checkpoint (a crash)."""
        self.postgres.down(mode="immediate")
        assert not self.postgres.status().healthy

    def start_postgres(self) -> None:
        self.postgres.up()

    def kill_kafka(self) -> None:
        """SIGKILL the broker: no controlled shutdown, clients see dropped connections."""
        pid = read_pid(self.kafka.pid_file)
        assert pid is not None and is_alive(pid)
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not is_alive(pid), 30)

    def start_kafka(self) -> None:
        self.kafka.up()


def local_servers_or_skip(settings: Settings) -> LocalServers:
    """The local stack under test, or skip: a fault test must not crash somebody's servers."""
    # The addresses the local stack would have, whatever the exported ones are.
    config = replace(StackConfig.from_env(), external_kafka=None, external_database=None)
    if config.kafka_bootstrap != settings.kafka_bootstrap or (
        config.database_url != settings.database_url
    ):
        pytest.skip("fault tests crash the servers: they run against the local stack only")
    kafka, postgres = LocalKafka(config), LocalPostgres(config)
    if not (kafka.status().healthy and postgres.status().healthy):
        pytest.skip("the local stack is not running")
    return LocalServers(kafka, postgres)


@dataclass
class LoadPublisher:
    """Publishes events in chunks on a thread, and keeps trying through a broker outage.

    A chunk whose flush failed is published again whole: the copies of events that did get
    through carry the same event_id, so the store counts them once (what is asserted)."""

    settings: Settings
    events: Sequence[AnyEvent]
    chunk: int = 1000
    pause_s: float = 0.1
    done: threading.Event = field(default_factory=threading.Event)
    retries: int = 0

    def start(self) -> LoadPublisher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 300) -> None:
        self._thread.join(timeout)
        assert self.done.is_set(), "the publisher did not get every event through"

    def _run(self) -> None:
        i = 0
        publisher: EventPublisher | None = None
        while i < len(self.events):
            try:
                if publisher is None:
                    publisher = EventPublisher(self.settings, source="fault-tests")
                publisher.publish_many(self.events[i : i + self.chunk])
                publisher.flush(timeout=5)
                i += self.chunk
                time.sleep(self.pause_s)
            except PublishError:
                self.retries += 1
                if publisher is not None:
                    publisher.close(raise_errors=False)
                publisher = None
                time.sleep(0.5)
        if publisher is not None:
            publisher.close()
        self.done.set()


def read_topic(settings: Settings, topic: str) -> list[object]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=5_000,
    )  # fmt: skip
    try:
        return list(consumer)
    finally:
        consumer.close()
