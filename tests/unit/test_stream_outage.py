"""The live stream while the database is away: the client is told, and it resumes."""

from __future__ import annotations

import asyncio

from salespulse.api.sse import ChangeHub, Frame, event_stream


class FlakyFeed:
    """A feed whose database is down for the first `down` reads of missed broadcasts."""

    batch = 100

    def __init__(self, down: int) -> None:
        self.down = down
        self.frames = [Frame("deal_won", '{"n": 1}', 1)]

    def last_seq(self) -> int:
        return 0

    def missed(self, after_seq: int) -> list[Frame]:
        if self.down > 0:
            self.down -= 1
            raise OSError("connection refused")
        return [f for f in self.frames if f.id is not None and f.id > after_seq]

    def snapshot(self) -> list[Frame]:
        return []


async def _first_frames(feed: FlakyFeed, hub: ChangeHub, n: int) -> list[str]:
    out: list[str] = []
    stream = event_stream(feed, hub, 0, keepalive_s=0.05, min_refresh_s=0.0, retry_ms=10)
    async for chunk in stream:
        out.append(chunk)
        if len(out) == n:
            break
    await stream.aclose()
    return out


def test_given_the_database_down_the_stream_says_so_and_then_resumes_where_it_was() -> None:
    # before the fix the stream raised and gave no answer at all
    chunks = asyncio.run(_first_frames(FlakyFeed(down=3), ChangeHub(), 4))
    assert chunks[0].startswith("retry:")
    assert chunks[1].startswith("id: 0\nevent: unavailable\n") and "connection refused" in chunks[1]
    assert chunks[2] == "id: 0\nevent: available\ndata: {}\n\n"
    # and the broadcast that happened meanwhile is delivered, not skipped
    assert chunks[3] == 'id: 1\nevent: deal_won\ndata: {"n": 1}\n\n'
