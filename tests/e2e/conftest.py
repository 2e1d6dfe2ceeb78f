"""End-to-end fixtures: a private deployment with a real worker and a real `salespulse api`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from producers.simulator import SimConfig, iter_emitted
from schemas.events import AnyEvent, parse_event
from tests.integration.conftest import Deployment, deployment, new_deployment
from tests.support.api_process import ApiProcess
from tests.support.worker import WorkerProcess

# Re-exported so the e2e tests get the same private deployments as the integration tests.
__all__ = ["deployment", "new_deployment"]


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too so `--strict-markers` accepts the marker even before pyproject's
    # markers list has it (a duplicate registration is harmless).
    config.addinivalue_line("markers", "e2e: real processes end to end (CLI, HTTP, browser)")


@dataclass
class Floor:
    """A running sales floor: one deployment, its worker and its API process."""

    deployment: Deployment
    worker: WorkerProcess
    api: ApiProcess
    history: list[AnyEvent]

    def rep_ids(self) -> list[str]:
        """The reps of the simulated org, in the order they joined."""
        return [e.rep_id for e in self.history if e.type == "RepJoined" and e.rep_id]

    @property
    def url(self) -> str:
        return self.api.url


@pytest.fixture
def start_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ApiProcess]]:
    """Starts `salespulse api` processes for a deployment; every one is stopped afterwards."""
    started: list[ApiProcess] = []
    log_dir = tmp_path_factory.mktemp("api")

    def start(
        deployment: Deployment, port: int | None = None, env: dict[str, str] | None = None
    ) -> ApiProcess:
        merged = {**deployment.env, **(env or {})}
        api = ApiProcess(merged, log_dir / f"api-{len(started)}.log", port)
        started.append(api)
        return api.start()

    yield start
    for api in started:
        api.stop(timeout=10)


def simulated_weeks(days: int = 21, reps: int = 8, seed: int = 7) -> list[AnyEvent]:
    """A realistic org history ending yesterday: units, names, targets, pipeline, wins."""
    today = datetime.now(UTC).date()
    config = SimConfig(reps=reps, days=days, seed=seed, start=today - timedelta(days=days))
    return [parse_event(json.loads(line)) for _, _, _, line, _ in iter_emitted(config)]


def publish(deployment: Deployment, events: list[AnyEvent]) -> None:
    with deployment.publisher() as publisher:
        publisher.publish_many(events)
        publisher.flush()


def wait_for_version(
    api: ApiProcess, timeout: float = 60.0, headers: dict[str, str] | None = None
) -> None:
    """Until the API serves the active projection version (the worker creates it); with
    tokens required and none given, until it asks for one (the caller then waits with one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{api.url}/api/org", timeout=5, headers=headers).status_code
        if status == 200 or (headers is None and status == 401):
            return
        time.sleep(0.2)
    raise AssertionError(f"no active projection version after {timeout}s:\n{api.output()}")


@pytest.fixture
def floor(deployment: Deployment, start_api: Callable[..., ApiProcess]) -> Floor:
    """Three weeks of a simulated org, applied by a real worker, served by a real API."""
    worker = deployment.start_worker()
    api = start_api(deployment)
    history = simulated_weeks()
    publish(deployment, history)
    deployment.wait_idle()
    wait_for_version(api)
    return Floor(deployment, worker, api, history)
