"""The faust-streaming application: one worker process consuming the event log."""

from __future__ import annotations

import faust

from infra.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """A faust app configured for at-least-once delivery; exactly-once is PostgreSQL's job.

    faust's own exactly_once guarantee has open bugs (duplicates on rebalance, fenced
    producers), so the worker stays at-least-once and the store skips what it has applied.
    """
    return faust.App(
        settings.worker_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",  # no faust tables: state lives in PostgreSQL, bucketed by event time
        key_serializer="raw",
        value_serializer="raw",
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        broker_commit_interval=1.0,
        # A crashed worker's partitions move to the survivors after this long, not a minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_commit_every=10_000,
        stream_buffer_maxsize=20_000,
        # Large fetches: the fold is cheap, round trips are not.
        consumer_max_fetch_size=8 * 1024 * 1024,
        stream_wait_empty=False,
    )
