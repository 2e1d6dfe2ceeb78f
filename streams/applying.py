"""What both worker engines do with a decoded batch: apply it until it sticks, then relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from projections.model.batch import AppliedResult, FailedRecord, Prefolded, Record
from projections.postgres.store import WithinBatch
from streams.announcer import Announcer, topic_record

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 10.0

# Sends (key, value) records to the broadcasts topic and returns once the broker has them all.
SendBroadcasts = Callable[[list[tuple[bytes, bytes]]], Awaitable[None]]
# Sends the records the store could not apply to the dead-letter topic, with their reasons.
SendFailed = Callable[[tuple[FailedRecord, ...]], Awaitable[None]]


class Abandoned(Exception):
    """The worker is stopping while a batch could not be applied: it is re-read after restart."""


class Versions(Protocol):
    """Where batches go: streams.versions.LiveVersions (every live projection version)."""

    @property
    def active(self) -> Any: ...

    def apply(
        self,
        records: list[Record],
        hook_for_active: WithinBatch | None,
        ahead: Prefolded | None = None,
    ) -> AppliedResult: ...

    def heal(self) -> None: ...

    def catch_up(
        self, positions: Mapping[int, int], hook_for_active: WithinBatch | None = None
    ) -> AppliedResult: ...


async def apply_until_done(
    versions: Versions,
    records: list[Record],
    announcer: Announcer | None,
    send_failed: SendFailed | None = None,
    stopping: asyncio.Event | None = None,
    ahead: Prefolded | None = None,
) -> AppliedResult:
    """Retry a failed batch with backoff: the store is idempotent, so retrying is always safe.

    A record the store cannot apply is isolated by the store itself (it comes back in
    `result.failed`) and goes to the dead-letter topic; what is retried here is a batch that
    failed as a whole (the database or the broker away), after reopening broken connections.
    When `stopping` is set the retries give up (Abandoned), so SIGTERM is never ignored.
    """
    delay = 0.2
    while True:
        try:
            result = await asyncio.to_thread(_apply, versions, records, announcer, ahead)
        except Exception:
            if stopping is not None and stopping.is_set():
                raise Abandoned from None
            log.exception("applying %d records failed; retrying in %.1fs", len(records), delay)
            await _pause(delay, stopping)
            delay = min(delay * 2, MAX_RETRY_DELAY_S)
            with contextlib.suppress(Exception):  # still down: the next attempt says so
                await asyncio.to_thread(versions.heal)
            continue
        log_failed(result)
        if result.failed and send_failed is not None:
            await send_failed(result.failed)
        return result


async def _pause(delay: float, stopping: asyncio.Event | None) -> None:
    if stopping is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), delay)
    if stopping.is_set():
        raise Abandoned


def log_failed(result: AppliedResult) -> None:
    """Each record refused by the fold (e.g. a currency with no rate) or by PostgreSQL (e.g.
    a NUL in a text value): its offset is recorded as applied, the worker dead-letters it."""
    for failed in result.failed:
        log.warning(
            "event %s at %d@%d not applied: %s",
            failed.event_id, failed.partition, failed.offset, failed.error,
        )  # fmt: skip


def active_hook(versions: Versions, announcer: Announcer | None) -> WithinBatch | None:
    """What records the active version's announcements inside its transaction, if any."""
    active = versions.active
    return announcer.hook(active.schema, active.ctx.kpis) if announcer and active else None


def _apply(
    versions: Versions,
    records: list[Record],
    announcer: Announcer | None,
    ahead: Prefolded | None = None,
) -> AppliedResult:
    return versions.apply(records, active_hook(versions, announcer), ahead)


async def relay(announcer: Announcer | None, send: SendBroadcasts) -> None:
    """Copy recorded announcements to the broadcasts topic, then mark them (the outbox)."""
    if announcer is None:
        return
    while pending := await asyncio.to_thread(announcer.pending):
        await send([topic_record(broadcast) for broadcast in pending])
        await asyncio.to_thread(announcer.relayed, pending)
