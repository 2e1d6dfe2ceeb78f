"""A private SalesPulse deployment per test: own topics, consumer group and schemas."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from producers.lag import end_offsets, lag
from producers.publisher import EventPublisher
from projections.store import PostgresProjectionStore
from salespulse.runtime import open_store
from salespulse.settings import Settings
from tests.support.worker import WorkerProcess


@dataclass
class Deployment:
    env: dict[str, str]
    settings: Settings
    log_dir: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def publisher(self) -> EventPublisher:
        return EventPublisher(self.settings, source="tests")

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.log_dir / f"worker-{len(self.workers)}.log").start()
        self.workers.append(worker)
        return worker

    def store(self) -> PostgresProjectionStore:
        return open_store(self.settings)

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until the projection has applied everything now in the log, or fail."""
        target = end_offsets(self.settings.kafka_bootstrap, self.settings.events_topic)
        deadline = time.monotonic() + timeout
        with self.store() as store:
            while True:
                remaining = lag(target, store.offsets())
                if not any(remaining.values()):
                    return
                dead = [w for w in self.workers if not w.alive]
                if time.monotonic() > deadline or (self.workers and len(dead) == len(self.workers)):
                    logs = "\n".join(w.output()[-3000:] for w in self.workers)
                    pytest.fail(f"not idle: lag {remaining}\n{logs}")
                time.sleep(0.2)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture
def deployment(
    kafka_bootstrap: str,
    database_url: str,
    make_topic: Callable[..., str],
    pg_schema: str,
    unique_group: str,
    tmp_path: Path,
) -> Iterator[Deployment]:
    events = make_topic(partitions=3)
    env = {
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "DATABASE_URL": database_url,
        "SALESPULSE_EVENTS_TOPIC": events,
        "SALESPULSE_DLQ_TOPIC": make_topic(partitions=1, name=events + ".dlq"),
        "SALESPULSE_BROADCASTS_TOPIC": make_topic(partitions=1, name=events + ".broadcasts"),
        "SALESPULSE_PARTITIONS": "3",
        "SALESPULSE_SCHEMA_PREFIX": pg_schema,
        "SALESPULSE_WORKER_GROUP": unique_group,
    }
    deployment = Deployment(env, Settings.from_env(env), tmp_path)
    yield deployment
    deployment.stop()
