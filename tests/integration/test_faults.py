"""The fault suite: servers and workers crash under load, and the pipeline heals by itself.

Each test publishes a simulated history while the fault happens, then asserts: no manual
step was needed, the store equals the oracle (the pure fold over the events), nothing
accepted is lost (every event id applied) and nothing is doubled (each applied once).
They crash the local stack's own servers, so they run only against it (skipped otherwise).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from producers.simulator import SimConfig
from producers.simulator.history import iter_events
from salespulse.cli import main
from schemas.events import AnyEvent, parse_event
from tests.integration.conftest import Deployment
from tests.support.api_process import ApiProcess
from tests.support.compare import assert_store_is_the_oracle as the_oracle
from tests.support.faults import LoadPublisher, local_servers_or_skip, read_topic
from tests.support.worker import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.fault]

START = date(2026, 3, 2)
SIM = SimConfig(reps=24, days=14, seed=12, start=START)
STOP_WITHIN_S = 10.0  # "a worker always stops on SIGTERM within a few seconds"


def _history() -> list[AnyEvent]:
    return [parse_event(raw) for raw in iter_events(SIM)]


def assert_store_is_the_oracle(deployment: Deployment, events: Sequence[AnyEvent]) -> None:
    as_of = datetime.combine(START + timedelta(days=10), datetime.min.time(), UTC)
    the_oracle(deployment, events, START, START + timedelta(days=SIM.days), as_of)


def start_workers(deployment: Deployment, n: int) -> list[WorkerProcess]:
    """n workers, returned once each says it runs (so the fault lands on running workers)."""
    workers = [deployment.start_worker() for _ in range(n)]
    for worker in workers:
        assert worker.wait_for_output("engine):", 60), worker.output()[-3000:]
    return workers


def stop_promptly(worker: WorkerProcess) -> None:
    """SIGTERM, and the worker must be gone within STOP_WITHIN_S, exit code 0."""
    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    try:
        code = worker.proc.wait(STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        worker.kill()
        pytest.fail(f"the worker ignored SIGTERM for {STOP_WITHIN_S}s:\n{worker.output()[-3000:]}")
    assert code == 0, worker.output()[-3000:]


@pytest.mark.parametrize("engine", ["batch", "faust"])
def test_a_poison_record_is_dead_lettered_and_the_rest_of_the_log_applied(
    new_deployment: Callable[..., Deployment], engine: str
) -> None:
    # given a history with, in the middle, one record PostgreSQL cannot store (a NUL in a
    # text value) that got past the edge
    events = _history()[:4000]
    visit = next(e for e in events[len(events) // 2 :] if e.type == "VisitCompleted")
    poison = visit.model_copy(update={"event_id": uuid4(), "rep_id": "r\x00x"})
    deployment = new_deployment(partitions=3)
    deployment.env["SALESPULSE_WORKER_ENGINE"] = engine
    worker = deployment.start_worker()
    middle = len(events) // 2
    load = LoadPublisher(deployment.settings, [*events[:middle], poison, *events[middle:]])
    load.start()
    load.join()
    # when the worker has applied the log (before the fix: it retried that batch forever)
    deployment.wait_idle(timeout=120)
    # then the poison is on the dead-letter topic with the reason, and nothing else is
    letters = read_topic(deployment.settings, deployment.settings.dlq_topic)
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers}  # type: ignore[attr-defined]
    assert "NUL" in headers["dlq.reason"] or "0x00" in headers["dlq.reason"], headers
    assert_store_is_the_oracle(deployment, events)
    stop_promptly(worker)


def test_postgres_stopped_immediately_under_load_heals_without_a_restart(
    new_deployment: Callable[..., Deployment],
) -> None:
    events = _history()
    deployment = new_deployment(partitions=3)
    servers = local_servers_or_skip(deployment.settings)
    first, second = start_workers(deployment, 2)
    load = LoadPublisher(deployment.settings, events).start()
    time.sleep(2.0)
    # when PostgreSQL crashes (stop -m immediate) while events flow, for a few seconds
    servers.crash_postgres()
    try:
        time.sleep(3.0)
        # a worker asked to stop while the database is away still stops promptly
        stop_promptly(first)
    finally:
        servers.start_postgres()
    # then the surviving worker reconnects by itself (no restart), and applies everything
    load.join()
    deployment.wait_idle(timeout=120)
    assert second.alive
    assert_store_is_the_oracle(deployment, events)


def test_broker_sigkilled_under_load_heals_without_a_restart(
    new_deployment: Callable[..., Deployment],
) -> None:
    events = _history()
    deployment = new_deployment(partitions=3)
    servers = local_servers_or_skip(deployment.settings)
    workers = start_workers(deployment, 2)
    load = LoadPublisher(deployment.settings, events).start()
    time.sleep(2.0)
    # when the broker is SIGKILLed while events flow, and started again 3 s later
    servers.kill_kafka()
    try:
        time.sleep(3.0)
    finally:
        servers.start_kafka()
    load.join()
    # then the same workers carry on: nothing lost, nothing doubled
    deployment.wait_idle(timeout=180)
    assert all(w.alive for w in workers)
    assert_store_is_the_oracle(deployment, events)


def test_a_worker_sigkilled_under_load_is_replaced_and_nothing_is_lost(
    new_deployment: Callable[..., Deployment],
) -> None:
    events = _history()
    deployment = new_deployment(partitions=3)
    doomed, _ = start_workers(deployment, 2)
    load = LoadPublisher(deployment.settings, events).start()
    time.sleep(2.0)
    doomed.kill()  # mid-batch: no commit, no shutdown hooks
    load.join()
    deployment.wait_idle(timeout=120)
    assert_store_is_the_oracle(deployment, events)


def _poll(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_the_api_answers_503_at_once_while_postgres_is_down_and_heals_after(
    new_deployment: Callable[..., Deployment],
) -> None:
    deployment = new_deployment(partitions=1)
    servers = local_servers_or_skip(deployment.settings)
    start_workers(deployment, 1)
    api = ApiProcess(deployment.env, deployment.log_dir / "api.log").start()
    try:
        client = httpx.Client(base_url=api.url, timeout=10.0)  # before the fix: 30 s, then 503
        assert client.get("/api/goals", params={"scope": "company"}).status_code == 200
        servers.crash_postgres()
        try:
            # /health names the dependency that is down (before the fix: "ok"), at once
            assert _poll(lambda: client.get("/health").status_code == 503, 10)
            health = client.get("/health", timeout=1.0).json()
            assert health["status"] == "degraded" and health["dependencies"]["postgres"] == "down"
            # a read answers 503 with Retry-After within the pool and connect timeouts
            read = client.get("/api/goals", params={"scope": "company"})
            assert read.status_code == 503 and read.headers["retry-after"]
        finally:
            servers.start_postgres()
        # then the same API process serves again: its pool reconnected by itself
        assert _poll(
            lambda: client.get("/api/goals", params={"scope": "company"}).status_code == 200, 30
        )
        assert _poll(lambda: client.get("/health").json()["status"] == "ok", 10)
    finally:
        api.stop()


def test_a_resubmission_with_other_content_is_refused_at_the_edge_and_by_the_fold(
    new_deployment: Callable[..., Deployment],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = _history()[:4000]  # the org and two days of it are enough here
    deployment = new_deployment(partitions=3)
    start_workers(deployment, 1)
    LoadPublisher(deployment.settings, events).start().join()
    deployment.wait_idle(timeout=120)
    order = next(e for e in events if e.type == "OrderSigned")
    moved = order.model_copy(update={"rep_id": "someone-else"})  # 999,999 to another rep
    # when `produce` is given the same event_id with other content, it reports the line
    path = tmp_path / "again.jsonl"
    path.write_text(moved.model_dump_json(exclude_none=True) + "\n")
    for name, value in deployment.env.items():
        monkeypatch.setenv(name, value)
    assert main(["produce", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"line 1: event_id: event_id {order.event_id} was accepted before")
    # and when a racing producer gets such a copy into the log anyway (past every edge),
    # the fold does not count it: it is dead-lettered and recorded as a conflict
    with deployment.publisher() as publisher:
        publisher.publish(moved)
    deployment.wait_idle(timeout=60)
    letters = read_topic(deployment.settings, deployment.settings.dlq_topic)
    reasons = [dict(x.headers)["dlq.reason"].decode() for x in letters]  # type: ignore[attr-defined]
    assert len(reasons) == 1 and "conflicting copy" in reasons[0]
    assert_store_is_the_oracle(deployment, events)
    with deployment.store() as store:
        rows = store.conn.execute(f"SELECT event_id FROM {store.schema}.event_conflicts").fetchall()
    assert rows == [(order.event_id,)]
