"""A private SalesPulse deployment per test: own topics, consumer group and schemas."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from infra.offsets import end_offsets, lag
from infra.publisher import EventPublisher
from infra.settings import Settings
from projections.postgres.store import PostgresProjectionStore
from salespulse.runtime import ensure_active_version, live_offsets, open_store
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

    def cli(self, *args: str) -> subprocess.Popen[str]:
        """`salespulse <args>` as a process of this deployment, output piped."""
        return subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", *args],
            env={**os.environ, **self.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until the projection has applied everything now in the log, or fail."""
        target = end_offsets(self.settings.kafka_bootstrap, self.settings.events_topic)
        deadline = time.monotonic() + timeout
        ensure_active_version(self.settings)
        while True:
            remaining = {v: lag(target, a) for v, a in live_offsets(self.settings).items()}
            if not any(any(r.values()) for r in remaining.values()):
                return
            dead = [w for w in self.workers if not w.alive]
            if time.monotonic() > deadline or (self.workers and len(dead) == len(self.workers)):
                logs = "\n".join(w.output()[-3000:] for w in self.workers)
                pytest.fail(f"not idle: lag {remaining}\n{logs}")
            time.sleep(0.2)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@contextlib.contextmanager
def deployment_factory(
    kafka_bootstrap: str, database_url: str, make_topic: Callable[..., str], root: Path
) -> Iterator[Callable[..., Deployment]]:
    """Makes private deployments; stops them and drops their schemas on leaving (any scope)."""
    made: list[Deployment] = []

    def make(partitions: int = 3) -> Deployment:
        tag = uuid.uuid4().hex[:10]
        events = make_topic(partitions=partitions, name=f"test.events.{tag}")
        env = {
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "DATABASE_URL": database_url,
            "SALESPULSE_EVENTS_TOPIC": events,
            "SALESPULSE_DLQ_TOPIC": make_topic(partitions=1, name=events + ".dlq"),
            "SALESPULSE_BROADCASTS_TOPIC": make_topic(partitions=1, name=events + ".broadcasts"),
            "SALESPULSE_PARTITIONS": str(partitions),
            "SALESPULSE_SCHEMA_PREFIX": f"t_{tag}",
            "SALESPULSE_WORKER_GROUP": f"test-group-{tag}",
            "SALESPULSE_FX_RATES": "EUR=1.0825",
        }
        log_dir = root / tag
        log_dir.mkdir()
        made.append(Deployment(env, Settings.from_env(env), log_dir))
        return made[-1]

    try:
        yield make
    finally:
        for deployment in made:
            deployment.stop()
        with psycopg.connect(database_url, autocommit=True) as conn:
            for deployment in made:
                prefix = deployment.settings.schema_prefix
                for (name,) in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
                    (prefix, prefix + "\\_%"),
                ).fetchall():
                    conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def new_deployment(
    kafka_bootstrap: str,
    database_url: str,
    make_topic: Callable[..., str],
    tmp_path: Path,
) -> Iterator[Callable[..., Deployment]]:
    """A factory of private deployments (one per hypothesis example, say); all torn down after."""
    with deployment_factory(kafka_bootstrap, database_url, make_topic, tmp_path) as make:
        yield make


@pytest.fixture
def deployment(new_deployment: Callable[..., Deployment]) -> Deployment:
    return new_deployment()
