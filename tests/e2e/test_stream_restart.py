"""Restarts while deals are won: a stream subscriber sees every deal_won exactly once.

Real processes throughout: the worker is SIGKILLed and replaced, the API is stopped (SIGTERM,
as a deploy does) and started again on the same port, and the subscriber drops its own
connection; it always resumes with Last-Event-ID, as a browser's EventSource does.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest

from schemas.events import AnyEvent
from tests.e2e.conftest import publish, wait_for_version
from tests.integration.conftest import Deployment
from tests.support.api_process import ApiProcess
from tests.support.builders import Events
from tests.support.sse import Subscriber

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]

WINS = 36
REPS = ("r1", "r2", "r3", "r4")


def _org(e: Events) -> list[AnyEvent]:
    return [
        e.unit("co", "company", None),
        e.unit("t1", "team", "co"),
        *(e.join(rep, "t1", name=f"Rep {rep}") for rep in REPS),
    ]


def _recorded_deals(deployment: Deployment, ids: set[str]) -> Counter[str]:
    schema = deployment.settings.schema_prefix
    with psycopg.connect(deployment.settings.database_url) as conn:
        rows = conn.execute(
            f"SELECT broadcast_id FROM {schema}.broadcasts WHERE kind = 'deal_won'"
        ).fetchall()
    return Counter(r[0] for r in rows if r[0] in ids)


def test_each_deal_won_arrives_once_across_worker_api_and_subscriber_restarts(
    deployment: Deployment, start_api: Callable[..., ApiProcess]
) -> None:
    e = Events(first_id=uuid.uuid4().int >> 64)
    # given a worker, the API and a subscriber following the stream of a small org
    worker = deployment.start_worker()
    api = start_api(deployment)
    publish(deployment, _org(e))
    deployment.wait_idle()
    wait_for_version(api)
    subscriber = Subscriber(f"{api.url}/api/stream", drop_after_deals=28).start()
    deadline = time.monotonic() + 20
    while not subscriber.connected() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert subscriber.connected(), subscriber.connections
    wins = [
        e.won(REPS[i % len(REPS)], datetime.now(UTC), f"o-{i}", f"{1000 + i}.50")
        for i in range(WINS)
    ]
    started = time.monotonic()

    # when deals are won one by one while, in turn:
    with deployment.publisher() as publisher:
        for i, win in enumerate(wins):
            publisher.publish(win)
            publisher.flush()
            if i == 8:
                # ... the worker crashes and a new one takes over the partitions,
                worker.kill()
                worker = deployment.start_worker()
            elif i == 18:
                # ... the new worker announces again (some wins reach the subscriber), then
                assert subscriber.wait_for_deals(12, timeout=60), worker.output()[-3000:]
                # the API is redeployed on the same port (its streams cut mid-flight),
                stopped_in = api.stop()
                api = start_api(deployment, port=api.port)
            elif i == 28:
                # ... clients resubmit wins the log already has (same event_id),
                publisher.publish_many(wins[:4])
                publisher.flush()
            time.sleep(0.1)
    # (and the subscriber drops its own connection after its 28th deal, wherever that falls)
    deployment.wait_idle()
    all_seen = subscriber.wait_for_deals(WINS, timeout=30)
    time.sleep(1.0)  # room for a late duplicate to show up, if one were coming
    subscriber.stop()
    elapsed = time.monotonic() - started
    print(f"{WINS} wins, 3 restarts: all seen after {elapsed:.1f}s; API stop {stopped_in:.1f}s")
    print("connections:", subscriber.connections)

    # then every win arrived exactly once, in broadcast order
    ids = [str(w.event_id) for w in wins]
    seen = Counter(subscriber.deal_ids())
    assert all_seen, f"missing {set(ids) - set(seen)}"
    assert {i: n for i, n in seen.items() if n != 1} == {}
    assert set(seen) == set(ids)
    seqs = subscriber.deal_seqs()
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # and the log recorded each once too (the worker's restart re-announced nothing)
    assert _recorded_deals(deployment, set(ids)) == Counter(ids)
    # and the subscriber did reconnect, with Last-Event-ID, after the API's restart and its drop
    ended = [c.ended_by for c in subscriber.connections]
    assert "dropped by the subscriber" in ended
    assert any(
        c.ended_by not in ("open", "dropped by the subscriber") for c in subscriber.connections
    )
    resumed = [c for c in subscriber.connections[1:] if c.status == 200]
    assert len(resumed) >= 2 and all(c.sent_last_event_id for c in resumed)
    # and the redeploy was prompt: open streams do not hold the old API up
    assert stopped_in < 10
