"""The one publishing API (CLI, simulator, HTTP ingest): events to the log as Avro, keyed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from infra.settings import Settings
from infra.topics import ensure_topic
from schemas.codec import encode
from schemas.events import AnyEvent

# One aggregate's events share a key, hence a partition, hence an order (DESIGN.md): the
# opportunity for its lifecycle, the lead for its qualification, the unit and the target scope
# for their definitions; everything else is the rep's own activity.
KEY_FIELDS: Mapping[str, str] = {
    "OpportunityCreated": "opportunity_id",
    "OpportunityStageChanged": "opportunity_id",
    "OpportunityWon": "opportunity_id",
    "OpportunityLost": "opportunity_id",
    "LeadCreated": "lead_id",
    "LeadQualified": "lead_id",
    "UnitDefined": "unit_id",
    "TargetSet": "scope",
    "TargetsLocked": "scope",
}

# Tuned for throughput: batches fill for up to 10 ms and up to 128 KiB, so a burst goes out in
# few requests (kafka-python's defaults, 0 ms and 16 KiB, send about one request per event
# under load). Measured on the local broker, kafka-python's own per-record Python work caps a
# process at roughly 10-14k events/s either way; batching mostly spares the broker. Idempotence
# with acks=all keeps retries from writing an event twice or out of order within a partition.
PRODUCER_CONFIG: Mapping[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 10,
    "batch_size": 128 * 1024,
    "max_in_flight_requests_per_connection": 5,  # the most idempotence allows
    # Topics are created on purpose, with infinite retention; never by a stray send.
    "allow_auto_create_topics": False,
}


class PublishError(RuntimeError):
    """Events could not be handed to Kafka; the message says how many and the first reason."""


def partition_key(event: AnyEvent) -> bytes:
    """The Kafka key: the aggregate id the event belongs to."""
    field = KEY_FIELDS.get(event.type)
    value = getattr(event.data, field) if field is not None else event.rep_id
    if value is None:
        raise ValueError(f"{event.type} {event.event_id} has no {field or 'rep_id'} to key by")
    return str(value).encode()


def stamp(event: AnyEvent, *, recorded_at: datetime, source: str) -> AnyEvent:
    """The event with recorded_at and source filled in where the sender left them out."""
    update: dict[str, Any] = {}
    if event.recorded_at is None:
        update["recorded_at"] = recorded_at
    if event.source is None:
        update["source"] = source
    return event.model_copy(update=update) if update else event


def _now() -> datetime:
    return datetime.now(UTC)


class EventPublisher:
    """Publishes pydantic events to the events topic; use as a context manager (sync)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        topic: str | None = None,
        source: str = "salespulse",
        create_topic: bool = True,
        producer_config: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.topic = topic or self.settings.events_topic
        self.source = source
        self._clock = clock
        # Failures by the thread that published the event: the HTTP API shares one publisher
        # among requests (one thread each), and a request must hear of its own events only.
        self._failures: dict[int, list[BaseException]] = {}
        self._lock = threading.Lock()  # errbacks run on the producer's I/O thread
        self.published = 0  # events handed to the producer; delivered once flush() returns
        bootstrap = self.settings.kafka_bootstrap
        try:
            if create_topic:
                ensure_topic(bootstrap, self.topic, self.settings.partitions)
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id=f"salespulse-{source}",
                **{**PRODUCER_CONFIG, **(producer_config or {})},
            )
        except KafkaError as exc:
            raise PublishError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # On the way out of an error, still deliver what was sent, but let that error win.
        self.close(raise_errors=exc is None)

    def publish(self, event: AnyEvent) -> None:
        """Queue one event for sending; delivery failures surface at the next flush()."""
        event = stamp(event, recorded_at=self._clock(), source=self.source)
        try:
            future = self._producer.send(self.topic, value=encode(event), key=partition_key(event))
        except KafkaError as exc:  # e.g. the buffer stayed full for max_block_ms
            raise PublishError(f"cannot publish {event.type} {event.event_id}: {exc}") from exc
        future.add_errback(self._failed, threading.get_ident())
        self.published += 1

    def publish_many(self, events: Iterable[AnyEvent]) -> int:
        """Queue every event in order; returns how many. Call flush() to wait for delivery."""
        count = 0
        for event in events:
            self.publish(event)
            count += 1
        return count

    def flush(self, timeout: float | None = None) -> None:
        """Block until every queued event is acknowledged; PublishError if any of the events
        this thread published was not (another thread's failures are its own to hear)."""
        self._flush(timeout, everyone=False)

    def _flush(self, timeout: float | None, everyone: bool) -> None:
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise PublishError(f"flush to {self.topic} failed: {exc}") from exc
        with self._lock:
            if everyone:
                failures = [f for fs in self._failures.values() for f in fs]
                self._failures = {}
            else:
                failures = self._failures.pop(threading.get_ident(), [])
        if failures:
            raise PublishError(
                f"{len(failures)} event(s) were not delivered to {self.topic}; "
                f"first error: {failures[0]!r}"
            ) from failures[0]

    def close(self, raise_errors: bool = True) -> None:
        """Flush, then release the connection."""
        try:
            if raise_errors:
                self._flush(None, everyone=True)
        finally:
            self._producer.close()

    def _failed(self, owner: int, exc: BaseException) -> None:
        with self._lock:
            self._failures.setdefault(owner, []).append(exc)
