"""Server shutdown ends open event streams, so a redeploy never waits on a dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import time

from salespulse.api.sse import ChangeHub, Frame, event_stream


class FakeFeed:
    """A broadcast log with nothing new and a fixed snapshot."""

    batch = 10

    def last_seq(self) -> int:
        return 5

    def missed(self, after_seq: int) -> list[Frame]:
        return []

    def snapshot(self) -> list[Frame]:
        return [Frame("leaderboard", "{}")]


def test_closing_the_hub_ends_an_open_stream_at_once() -> None:
    async def scenario() -> tuple[list[str], float]:
        hub = ChangeHub()
        # given a stream that has sent its snapshot and now waits (keepalive a minute away)
        stream = event_stream(FakeFeed(), hub, None, keepalive_s=60, min_refresh_s=0)
        chunks = [await anext(stream), await anext(stream)]
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)
        # when the server starts to shut down
        closed_at = time.monotonic()
        hub.close()
        # then the stream finishes instead of waiting for the next change
        with contextlib.suppress(StopAsyncIteration):
            chunks.append(await asyncio.wait_for(pending, 2))
        return chunks, time.monotonic() - closed_at

    chunks, took = asyncio.run(scenario())
    assert chunks == ["retry: 3000\n\n", "id: 5\nevent: leaderboard\ndata: {}\n\n"]
    assert took < 1


def test_a_closed_hub_answers_waits_at_once() -> None:
    async def scenario() -> float:
        hub = ChangeHub()
        hub.close()
        started = time.monotonic()
        await hub.wait(hub.generation, timeout=30)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1 and ChangeHub().closed is False
