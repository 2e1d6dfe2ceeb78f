"""`project_events`: fold the event log into the PostgreSQL projections, batch by batch."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import faust

from schemas.events import AnyEvent
from streams.batching import RawRecord, decode_batch

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 10.0


class BatchStore(Protocol):
    def apply_batch(self, records: list[tuple[int, int, AnyEvent | None]]) -> Any: ...


def register(
    app: faust.App,
    events_topic: faust.TopicT,
    dlq_topic: faust.TopicT,
    store: BatchStore,
    batch_max: int,
    batch_within_s: float,
) -> faust.types.AgentT:
    """Attach the projecting agent to `app` (agents are defined per app: topics are config)."""

    @app.agent(events_topic, name="project_events")
    async def project_events(stream: faust.StreamT[bytes]) -> None:
        # `within` bounds latency: a lone event is applied ~batch_within_s after it arrives.
        async for events in stream.take_events(batch_max, within=batch_within_s):
            batch = decode_batch(
                RawRecord(
                    e.message.topic, e.message.partition, e.message.offset,
                    e.message.key, e.message.value,
                )  # fmt: skip
                for e in events
            )
            for letter in batch.dead_letters:
                log.warning(
                    "dead letter: %s[%d]@%d: %s",
                    letter.topic, letter.partition, letter.offset, letter.reason,
                )  # fmt: skip
                await dlq_topic.send(key=letter.key, value=letter.value, headers=letter.headers)
            await _apply_until_done(store, batch.records)

    return project_events


async def _apply_until_done(
    store: BatchStore, records: list[tuple[int, int, AnyEvent | None]]
) -> None:
    """Retry a failed batch with backoff: the store is idempotent, so retrying is always safe."""
    delay = 0.2
    while True:
        try:
            await asyncio.to_thread(store.apply_batch, records)
            return
        except Exception:
            log.exception("applying a batch of %d records failed; retrying in %.1fs", len(records), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
