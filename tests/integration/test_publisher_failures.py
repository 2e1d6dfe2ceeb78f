"""The shared publisher tells each request about its own lost events (issue 12, defect 10)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from infra.publisher import EventPublisher, PublishError, partition_key
from infra.settings import Settings
from tests.support.builders import Events

pytestmark = pytest.mark.integration


def test_a_lost_event_fails_the_request_that_sent_it_not_another_one(
    kafka_bootstrap: str, unique_topic: str, make_topic: Callable[..., str]
) -> None:
    # given a topic whose broker refuses records over 2,000 bytes, shared by two requests
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(unique_topic, 2, 1, topic_configs={"max.message.bytes": "2000"})])
    admin.close()
    settings = Settings(kafka_bootstrap=kafka_bootstrap, events_topic=unique_topic)
    e = Events()
    small = e.visit("r1", "2026-11-03")
    huge = e.join("r3", "t1", name="x" * 50_000)  # refused by the broker, not by send()
    assert partition_key(small) != partition_key(huge)
    outcome: dict[str, str] = {}
    published = threading.Barrier(2)
    flushed_small = threading.Event()

    def request(name: str, event: object, publisher: EventPublisher) -> None:
        publisher.publish(event)  # type: ignore[arg-type]
        published.wait()
        if name == "huge":
            flushed_small.wait(30)  # the other request flushes first: it must not get our error
        try:
            publisher.flush(timeout=30)
            outcome[name] = "202"
        except PublishError:
            outcome[name] = "503"
        if name == "small":
            flushed_small.set()

    with EventPublisher(settings, create_topic=False) as publisher:
        threads = [
            threading.Thread(target=request, args=("small", small, publisher)),
            threading.Thread(target=request, args=("huge", huge, publisher)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    # then (before the fix: small 503, huge 202 — a lost event acknowledged)
    assert outcome == {"small": "202", "huge": "503"}
