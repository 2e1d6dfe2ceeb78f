"""`project_events`: fold the event log into the PostgreSQL projections, batch by batch."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from projections.model.batch import FailedRecord
from streams.announcer import Announcer
from streams.applying import Versions, apply_until_done, relay
from streams.batching import RawRecord, decode_batch, failed_letters
from streams.deadletter import DeadLetter

log = logging.getLogger(__name__)


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
        async def send(records: list[tuple[bytes, bytes]]) -> None:
            sent = [await broadcasts_topic.send(key=k, value=v) for k, v in records]
            await asyncio.gather(*sent)

        # Announcements recorded before a crash but not yet copied to Kafka go out first.
        await relay(announcer, send)

        # `within` bounds latency: a lone event is applied ~batch_within_s after it arrives.
        # take_events (not take): the batch needs each record's partition and offset.
        async def send_letters(letters: list[DeadLetter]) -> None:
            for letter in letters:
                log.warning(
                    "dead letter: %s[%d]@%d: %s",
                    letter.topic, letter.partition, letter.offset, letter.reason,
                )  # fmt: skip
                await dlq_topic.send(key=letter.key, value=letter.value, headers=letter.headers)

        async for events in stream.take_events(batch_max, within=batch_within_s):  # type: ignore[attr-defined]
            raw = [
                RawRecord(m.topic, m.partition, m.offset, m.key, m.value)
                for m in (e.message for e in events)
            ]
            batch = decode_batch(raw)
            await send_letters(batch.dead_letters)

            async def send_failed(
                failed: tuple[FailedRecord, ...], raw: list[RawRecord] = raw
            ) -> None:
                await send_letters(failed_letters(raw, failed))

            result = await apply_until_done(versions, batch.records, announcer, send_failed)
            if result.deal_wins:
                await relay(announcer, send)

    return project_events
