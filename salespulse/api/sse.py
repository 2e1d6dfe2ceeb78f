"""Server-sent events: a change hub fed by LISTEN/NOTIFY, and the per-client frame loop.

Each broadcast frame carries `id: <seq>` from the broadcast log, so a browser reconnecting
with Last-Event-ID gets exactly what it missed. Snapshot frames (leaderboard, cheer counts)
carry the current cursor as their id: resending a snapshot is harmless, and a reconnect must
never skip a broadcast because a snapshot advanced the id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

import anyio.to_thread

T = TypeVar("T")
Topic = Literal["broadcasts", "projection"]


@dataclass(frozen=True)
class Generation:
    """How many change signals of each kind the hub has seen."""

    broadcasts: int = 0
    projection: int = 0


class ChangeHub:
    """Wakes stream clients when the broadcast log or a projection changed.

    Signals come from the PostgreSQL listener task or, in tests, straight from a Fake; notify()
    may be called from any thread. Waiters compare generations, so a signal that arrives
    between two waits is never lost.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = Generation()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._closed = False

    @property
    def generation(self) -> Generation:
        with self._lock:
            return self._generation

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """The server is shutting down: every stream ends (its client reconnects elsewhere).

        A stream never finishes by itself, and the server's graceful shutdown waits for every
        response to finish.
        """
        with self._lock:
            self._closed = True
            waiters, self._waiters = self._waiters, []
        self._wake(waiters)

    def notify(self, topic: Topic) -> None:
        with self._lock:
            g = self._generation
            if topic == "broadcasts":
                self._generation = Generation(g.broadcasts + 1, g.projection)
            else:
                self._generation = Generation(g.broadcasts, g.projection + 1)
            waiters, self._waiters = self._waiters, []
        self._wake(waiters)

    @staticmethod
    def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        for loop, event in waiters:
            # The loop may have closed with its client gone; that client needs no wake-up.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def wait(self, seen: Generation, timeout: float) -> Generation:
        """The generation once it differs from `seen` or the hub closed, or after `timeout` s."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._closed or self._generation != seen:
                return self._generation
            self._waiters.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove(entry)
        return self.generation


@dataclass(frozen=True)
class Frame:
    """One server-sent event; `data` is already JSON text."""

    event: str
    data: str
    id: int | None = None
    # Recorded but not news (e.g. a deal from last month synced late): the stream moves its
    # cursor past it without sending it.
    silent: bool = False


def encode(frame: Frame) -> str:
    """The wire form: id, event and data lines, then a blank line."""
    lines = [] if frame.id is None else [f"id: {frame.id}"]
    lines.append(f"event: {frame.event}")
    lines.extend(f"data: {part}" for part in frame.data.split("\n"))
    return "\n".join(lines) + "\n\n"


class StreamFeed(Protocol):
    """What a stream reads (blocking calls, run in a worker thread)."""

    batch: int

    def last_seq(self) -> int: ...

    def missed(self, after_seq: int) -> list[Frame]:
        """Broadcast frames with seq > after_seq, oldest first, at most `batch`."""
        ...

    def snapshot(self) -> list[Frame]:
        """Frames describing current state (leaderboard, cheer counts), without ids."""
        ...


async def _blocking(fn: Callable[..., T], *args: object) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def parse_last_event_id(text: str | None) -> int | None:
    """The seq a reconnecting client saw last; anything that is not a count is ignored."""
    if text is None or not text.strip().isdigit():
        return None
    return int(text.strip())


async def event_stream(
    feed: StreamFeed,
    hub: ChangeHub,
    last_event_id: int | None,
    keepalive_s: float = 15.0,
    min_refresh_s: float = 1.0,
    retry_ms: int = 3000,
) -> AsyncIterator[str]:
    """Missed broadcasts first, then a snapshot, then changes as they happen, until the hub
    closes (server shutdown)."""
    yield f"retry: {retry_ms}\n\n"
    last = await _blocking(feed.last_seq)
    # No id: start from now (history is GET /api/broadcasts). An id past the end: the log was
    # reset, so start from its end rather than wait for seq to catch up.
    cursor = last if last_event_id is None else min(last_event_id, last)
    seen = hub.generation
    sent: dict[str, str] = {}
    stale, refreshed_at = True, 0.0
    outage: str | None = None  # why the last pass failed, sent once as `unavailable`
    while not hub.closed:
        try:
            frames = await _blocking(feed.missed, cursor)
            if outage is not None:  # back: the stream resumes where it was, nothing missed
                outage = None
                yield encode(Frame("available", "{}", cursor))
            for frame in frames:
                if not frame.silent:
                    yield encode(frame)
                cursor = frame.id if frame.id is not None else cursor
            if len(frames) >= feed.batch:
                continue  # still catching up
            # Coalesce bursts of projection changes into one snapshot per interval.
            if stale and time.monotonic() >= refreshed_at + min_refresh_s:
                refreshed_at, stale = time.monotonic(), False
                for frame in await _blocking(feed.snapshot):
                    if sent.get(frame.event) != frame.data:
                        sent[frame.event] = frame.data
                        yield encode(Frame(frame.event, frame.data, cursor))
            if stale:
                # A snapshot is due at refreshed_at + min_refresh_s; until then only a broadcast
                # wakes the stream, so a deal is never held back behind the leaderboard's refresh.
                now = await _broadcast_or(hub, seen, refreshed_at + min_refresh_s)
            else:
                now = await hub.wait(seen, keepalive_s)
                if now == seen and not hub.closed:
                    # Keeps proxies from closing an idle stream; the loop also re-reads the log,
                    # which covers a notification lost while the listener was reconnecting.
                    yield ": keepalive\n\n"
            if hub.closed:
                return
            stale = stale or now.projection != seen.projection
            seen = now
        except Exception as exc:  # a dependency is down: say so, keep the stream, retry
            if outage is None:
                outage = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                yield encode(Frame("unavailable", json.dumps({"error": outage}), cursor))
            # Not `seen`: a change signal during the outage would make this a busy loop.
            seen = await hub.wait(hub.generation, retry_ms / 1000)
            stale = True  # once back, the snapshot is sent again


async def _broadcast_or(hub: ChangeHub, seen: Generation, deadline: float) -> Generation:
    """Wait for a new broadcast, but no longer than `deadline` (time.monotonic())."""
    now = seen
    while not hub.closed:
        left = deadline - time.monotonic()
        if left <= 0 or now.broadcasts != seen.broadcasts:
            break
        now = await hub.wait(now, left)
    return now
