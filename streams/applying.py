"""What both worker engines do with a decoded batch: apply it until it sticks, then relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from projections.model.batch import AppliedResult, Record
from projections.postgres.store import WithinBatch
from streams.announcer import Announcer, topic_record

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 10.0

# Sends (key, value) records to the broadcasts topic and returns once the broker has them all.
SendBroadcasts = Callable[[list[tuple[bytes, bytes]]], Awaitable[None]]


class Versions(Protocol):
    """Where batches go: streams.versions.LiveVersions (every live projection version)."""

    @property
    def active(self) -> Any: ...

    def apply(
        self, records: list[Record], hook_for_active: WithinBatch | None
    ) -> AppliedResult: ...


async def apply_until_done(
    versions: Versions, records: list[Record], announcer: Announcer | None
) -> AppliedResult:
    """Retry a failed batch with backoff: the store is idempotent, so retrying is always safe."""
    delay = 0.2
    while True:
        try:
            result = await asyncio.to_thread(_apply, versions, records, announcer)
        except Exception:
            log.exception("applying %d records failed; retrying in %.1fs", len(records), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
            continue
        for failed in result.failed:
            # Decoded but refused by the fold (e.g. a currency with no rate): its offset is
            # recorded as applied; the reason is in the log.
            log.warning("event %s refused by the fold: %s", failed.event_id, failed.error)
        return result


def _apply(versions: Versions, records: list[Record], announcer: Announcer | None) -> AppliedResult:
    active = versions.active
    hook = announcer.hook(active.schema, active.ctx.kpis) if announcer and active else None
    return versions.apply(records, hook)


async def relay(announcer: Announcer | None, send: SendBroadcasts) -> None:
    """Copy recorded announcements to the broadcasts topic, then mark them (the outbox)."""
    if announcer is None:
        return
    while pending := await asyncio.to_thread(announcer.pending):
        await send([topic_record(broadcast) for broadcast in pending])
        await asyncio.to_thread(announcer.relayed, pending)
