"""One channel's sender: paces requests, coalesces a burst, retries, records each outcome.

Each channel has its own task, so a channel that fails or waits (a retry's backoff, its rate
limit) never delays another. Every request to a channel, retries included, is spaced by
`channel.interval_s`, so no minute sees more than `per_minute` requests; what arrives
meanwhile waits and goes out together as one summary naming every deal (as many messages
as the platform's size limit needs).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from streams.notify.channels import Channel
from streams.notify.formats.note import Note
from streams.notify.formats.registry import PLATFORMS, RETRY
from streams.notify.texts import Item, summary_note

log = logging.getLogger(__name__)

# Records a message's keys as sent or failed: (channel, keys, status, attempts, message, error).
Recorder = Callable[[str, Sequence[str], str, int, str, "str | None"], Awaitable[None]]


@dataclass
class Queued:
    """An announcement, or a ready note (a digest, never coalesced), and who waits for it."""

    key: str
    item: Item | None = None
    note: Note | None = None
    done: list[Callable[[], None]] = field(default_factory=list)


class ChannelSender:
    """Sends one channel's queue until cancelled."""

    def __init__(
        self,
        channel: Channel,
        http: httpx.AsyncClient,
        record: Recorder,
        currency: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel, self.http, self.record, self.currency = channel, http, record, currency
        self.platform = PLATFORMS[channel.kind]
        self.clock = clock
        self._queue: dict[str, Queued] = {}  # insertion-ordered; a key queued twice waits once
        self._wake = asyncio.Event()
        self._next_at = 0.0  # monotonic time the next request may go

    def submit(self, queued: Queued) -> None:
        """Queue a message; `queued.done` callbacks run once its outcome is recorded."""
        waiting = self._queue.get(queued.key)
        if waiting is not None:
            waiting.done += queued.done
            return
        self._queue[queued.key] = queued
        self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._pace()
                batch = self._take()
                await self._deliver(batch)

    def _take(self) -> list[Queued]:
        """The next message's worth: a ready note alone, or as many announcements as fit."""
        entries = list(self._queue.values())
        if entries[0].note is not None:
            chosen = entries[:1]
        else:
            items = [e for e in itertools.takewhile(lambda e: e.item is not None, entries)]
            # The largest prefix within the platform's size limit (at least one): a binary
            # search, since a backlog of thousands would make trying each length quadratic.
            low, high = 1, len(items)
            while low < high:
                middle = (low + high + 1) // 2
                if self.platform.fits(self._summary(items[:middle])):
                    low = middle
                else:
                    high = middle - 1
            chosen = items[:low]
        for entry in chosen:
            del self._queue[entry.key]
        return chosen

    def _summary(self, batch: list[Queued]) -> Note:
        return summary_note([q.item for q in batch if q.item], *self._words())

    def _words(self) -> tuple[str, str]:
        return self.channel.language, self.currency

    def _note(self, batch: list[Queued]) -> Note:
        if batch[0].note is not None:
            return batch[0].note
        return self._summary(batch)

    async def _pace(self) -> None:
        delay = self._next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next_at = time.monotonic() + self.channel.interval_s

    async def _deliver(self, batch: list[Queued]) -> None:
        note = self._note(batch)
        message_id = uuid.uuid4().hex
        attempts, error = 0, None
        delay = self.channel.backoff_s
        while attempts < self.channel.retries:
            if attempts:
                await asyncio.sleep(delay)
                delay *= 2
                await self._pace()
            attempts += 1
            error, retry = await self._post(note)
            if error is None or not retry:
                break
            log.warning("channel %s: %s (try %d)", self.channel.name, error, attempts)
        status = "sent" if error is None else "failed"
        if error is not None:
            log.error(
                "channel %s: giving up on %d key(s): %s", self.channel.name, len(batch), error
            )
        keys = [q.key for q in batch]
        await self.record(self.channel.name, keys, status, attempts, message_id, error)
        for entry in batch:
            for done in entry.done:
                done()

    async def _post(self, note: Note) -> tuple[str | None, bool]:
        """(None, _) when the platform took it, else (why, whether to retry)."""
        # Signed anew on every try: DingTalk and Feishu refuse an old timestamp.
        request = self.platform.render(note, self.channel.url, self.channel.secret, self.clock())
        try:
            answer = await self.http.post(
                request.url,
                content=request.body,
                headers=request.headers,
                timeout=self.channel.timeout_s,
            )
        except httpx.TimeoutException:
            return f"no answer within {self.channel.timeout_s:g} s", True
        except httpx.TransportError as exc:
            return f"cannot reach the webhook: {type(exc).__name__}: {exc}", True
        if answer.status_code == 429 or answer.status_code >= 500:
            return f"HTTP {answer.status_code}", True
        if answer.status_code >= 300:
            return f"HTTP {answer.status_code}: {answer.text[:200]}", False
        verdict = self.platform.verdict(answer.content)
        if verdict is None:
            return None, False
        if verdict.startswith(RETRY):
            return verdict.removeprefix(RETRY), True
        return verdict, False
