"""The publish order: events wait in a queue keyed by when they reach the log, not when they occur.

Most events are published the moment they occur; a few arrive late (visits synced from a phone
days later) and a few are resubmitted (the same event, same event_id, sent again).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from random import Random
from typing import Any

from producers.simulator.org import Rep
from producers.simulator.rhythm import Clock

ONCE, WILL_REPEAT, REPEAT = 0, 1, 2  # a resubmitted event: its original, then its copy
# (publish_ts, seq, occurred_ts, JSON line, ONCE | WILL_REPEAT | REPEAT); seq keeps equal
# times in creation order. Lines are encoded once, when the event is created: a string
# costs the garbage collector nothing while it waits, and a resubmission is the same string.
Emitted = tuple[int, int, int, str, int]

HOUR = 3600
DAY = 24 * HOUR
# type -> (probability of arriving late, min delay s, max delay s). Visits are logged in a
# mobile app that syncs when the rep is back online; calls and payments lag a little.
LATENESS: dict[str, tuple[float, int, int]] = {
    "VisitCompleted": (0.02, DAY, 3 * DAY),
    "CallLogged": (0.004, HOUR, 12 * HOUR),
    "PaymentReceived": (0.02, 6 * HOUR, 2 * DAY),
    "LeadCreated": (0.005, HOUR, DAY),
}
RESUBMIT_P = 0.005  # a client retry after a timeout: the exact same event again
_RESUBMIT_DELAY = (60, 6 * HOUR)

# uuid.UUID(int=n, version=4) keeps n but forces the version and variant bits; doing the same
# with two masks here avoids building a UUID object per event (a hot path).
_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_SET = (0x8000 << 48) | (4 << 76)

# Compact and ASCII-only: the fastest setting of the C encoder, and byte-stable everywhere.
encode = json.JSONEncoder(separators=(",", ":")).encode


class Outbox:
    """Creates events (ids from the seeded RNG) as JSON lines and releases them in publish order.

    Envelope keys are always `event_id, type, occurred_at, [rep_id,] data`. The envelope is
    written by hand: ids, type names and timestamps are ours and never need escaping.
    """

    def __init__(self, rng: Random, clock: Clock, end_ts: int) -> None:
        self._rng = rng
        self._clock = clock
        self._heap: list[Emitted] = []  # published after the current day
        self._today: list[Emitted] = []  # published within it: sorted once at the day's end
        self._horizon = -1
        self._seq = 0
        self.end_ts = end_ts

    def begin(self, until_ts: int) -> None:
        """Start a day: what is published before `until_ts` is released by the next drain."""
        self._horizon = until_ts

    def uid(self) -> str:
        h = f"{(self._rng.getrandbits(128) & _CLEAR) | _SET:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _push(self, publish_ts: int, ts: int, line: str, flag: int) -> None:
        self._seq += 1
        item = (publish_ts, self._seq, ts, line, flag)
        # A list sorted once per day is much cheaper than a heap push and pop per event.
        if publish_ts < self._horizon:
            self._today.append(item)
        else:
            heapq.heappush(self._heap, item)

    def org(self, ts: int, type_: str, data: dict[str, Any], rep_id: str | None = None) -> str:
        """An organisation event (units, staff, targets): published on time, never twice."""
        event_id = self.uid()
        rep = "" if rep_id is None else f'"rep_id":"{rep_id}",'
        line = (
            f'{{"event_id":"{event_id}","type":"{type_}",'
            f'"occurred_at":"{self._clock.format(ts)}",{rep}"data":{encode(data)}}}'
        )
        self._push(ts, ts, line, ONCE)
        return event_id

    def rep(self, ts: int, type_: str, rep: Rep, data: dict[str, Any]) -> str | None:
        """A rep's activity; returns its event_id, or None when dropped (after the simulated
        span, or once the rep has left)."""
        if ts >= self.end_ts or ts >= rep.left_ts:
            return None
        rng = self._rng
        event_id = self.uid()
        line = (
            f'{{"event_id":"{event_id}","type":"{type_}",'
            f'"occurred_at":"{self._clock.format(ts)}","rep_id":"{rep.rep_id}",'
            f'"data":{encode(data)}}}'
        )
        # One draw decides both: its bottom band makes the event late, its top band makes
        # the client resubmit it (so a late event is never also resubmitted).
        publish = ts
        r = rng.random()
        late = LATENESS.get(type_)
        if late is not None and r < late[0]:
            publish = ts + rng.randint(late[1], late[2])
        if r >= 1.0 - RESUBMIT_P:
            self._push(publish, ts, line, WILL_REPEAT)
            self._push(publish + rng.randint(*_RESUBMIT_DELAY), ts, line, REPEAT)
        else:
            self._push(publish, ts, line, ONCE)
        return event_id

    def drain(self, until_ts: int | None = None) -> Iterator[Emitted]:
        """Release, in publish order, everything published before `until_ts` (None: all)."""
        batch, self._today, self._horizon = self._today, [], -1
        heap = self._heap
        while heap and (until_ts is None or heap[0][0] < until_ts):
            batch.append(heapq.heappop(heap))
        batch.sort()  # (publish_ts, seq) is unique, so the lines are never compared
        yield from batch

    def __len__(self) -> int:
        return len(self._heap) + len(self._today)
