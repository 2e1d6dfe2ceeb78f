"""`project_events`: fold the event log into the PostgreSQL projections, batch by batch."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import faust

from projections.batch import AppliedResult, Record
from projections.store import WithinBatch
from streams.announcer import Announcer, topic_record
from streams.batching import RawRecord, decode_batch

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 10.0


class Versions(Protocol):
    """Where batches go: streams.versions.LiveVersions (every live projection version)."""

    @property
    def active(self) -> Any: ...

    def apply(
        self, records: list[Record], hook_for_active: WithinBatch | None
    ) -> AppliedResult: ...


def register(
    app: faust.App,
    events_topic: faust.TopicT,
    dlq_topic: faust.TopicT,
    broadcasts_topic: faust.TopicT,
    versions: Versions,
    announcer: Announcer | None,
    batch_max: int,
    batch_within_s: float,
) -> Any:
    """Attach the projecting agent to `app` (agents are defined per app: topics are config)."""

    @app.agent(events_topic, name="project_events")
    async def project_events(stream: faust.StreamT[bytes]) -> None:
        # Announcements recorded before a crash but not yet copied to Kafka go out first.
        await _relay(announcer, broadcasts_topic)
        # `within` bounds latency: a lone event is applied ~batch_within_s after it arrives.
        # take_events (not take): the batch needs each record's partition and offset.
        async for events in stream.take_events(batch_max, within=batch_within_s):  # type: ignore[attr-defined]
            batch = decode_batch(
                RawRecord(m.topic, m.partition, m.offset, m.key, m.value)
                for m in (e.message for e in events)
            )
            for letter in batch.dead_letters:
                log.warning(
                    "dead letter: %s[%d]@%d: %s",
                    letter.topic, letter.partition, letter.offset, letter.reason,
                )  # fmt: skip
                await dlq_topic.send(key=letter.key, value=letter.value, headers=letter.headers)
            result = await _apply_until_done(versions, batch.records, announcer)
            for failed in result.failed:
                # Decoded but refused by the fold (e.g. a currency with no rate): its offset
                # is recorded as applied, so the record itself goes to the dead letters.
                log.warning("event %s refused by the fold: %s", failed.event_id, failed.error)
            if result.deal_wins:
                await _relay(announcer, broadcasts_topic)

    return project_events


async def _apply_until_done(
    versions: Versions, records: list[Record], announcer: Announcer | None
) -> AppliedResult:
    """Retry a failed batch with backoff: the store is idempotent, so retrying is always safe."""
    delay = 0.2
    while True:
        try:
            return await asyncio.to_thread(_apply, versions, records, announcer)
        except Exception:
            log.exception("applying %d records failed; retrying in %.1fs", len(records), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)


def _apply(versions: Versions, records: list[Record], announcer: Announcer | None) -> AppliedResult:
    active = versions.active
    hook = announcer.hook(active.schema, active.ctx.kpis) if announcer and active else None
    return versions.apply(records, hook)


async def _relay(announcer: Announcer | None, topic: faust.TopicT) -> None:
    """Copy recorded announcements to the broadcasts topic, then mark them (the outbox)."""
    if announcer is None:
        return
    while pending := await asyncio.to_thread(announcer.pending):
        for broadcast in pending:
            key, value = topic_record(broadcast)
            await (await topic.send(key=key, value=value))
        await asyncio.to_thread(announcer.relayed, pending)
