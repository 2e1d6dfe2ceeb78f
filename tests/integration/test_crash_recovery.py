"""Crash test: workers SIGKILLed while 100k events flow lose nothing and double nothing."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from producers.simulator import SimConfig
from producers.simulator.history import iter_events
from schemas.events import AnyEvent, parse_event
from tests.integration.conftest import Deployment
from tests.support.compare import assert_store_is_the_oracle

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = date(2026, 3, 2)
SIM = SimConfig(reps=110, days=28, seed=11, start=START)


def _publish_slowly(deployment: Deployment, events: list[AnyEvent], done: threading.Event) -> None:
    """Publish in chunks with pauses, so that the kills land while events are flowing."""
    with deployment.publisher() as publisher:
        for i in range(0, len(events), 4000):
            publisher.publish_many(events[i : i + 4000])
            publisher.flush()
            time.sleep(0.3)
    done.set()


def test_sigkilled_workers_lose_nothing_and_count_nothing_twice(
    new_deployment: Callable[..., Deployment],
) -> None:
    # given ~100k simulated events (with the simulator's resubmitted duplicates and late
    # events) and two workers sharing four partitions
    events = [parse_event(raw) for raw in iter_events(SIM)]
    assert len(events) >= 95_000
    deployment = new_deployment(partitions=4)
    first, second = deployment.start_worker(), deployment.start_worker()
    published = threading.Event()
    publisher = threading.Thread(target=_publish_slowly, args=(deployment, events, published))
    publisher.start()

    # when the first worker is SIGKILLed three times at random moments and restarted, and
    # then the second worker is SIGKILLed for good while events still flow
    rnd = random.Random(20261122)
    kills = 0
    for _ in range(3):
        time.sleep(rnd.uniform(1.5, 4.0))
        first.kill()
        kills += 1
        time.sleep(rnd.uniform(0.0, 1.0))
        first = deployment.start_worker()
    time.sleep(rnd.uniform(0.5, 2.0))
    second.kill()
    kills += 1
    publisher.join(timeout=600)
    assert published.is_set() and kills == 4
    deployment.wait_idle(timeout=600)

    # then every query equals the oracle's: nothing lost, nothing counted twice
    as_of = datetime.combine(START + timedelta(days=20), datetime.min.time(), UTC)
    assert_store_is_the_oracle(deployment, events, START, START + timedelta(days=SIM.days), as_of)
