"""Live demos: release a simulated history at R events per second, re-timed to the wall clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator

from producers.simulator.outbox import REPEAT, WILL_REPEAT, Emitted, encode
from producers.simulator.rhythm import Clock


def paced(
    emitted: Iterable[Emitted],
    rate: float,
    clock: Clock,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Yield lines no faster than `rate` per second, each with `occurred_at` moved to the
    wall-clock moment it is published (a late event keeps its lateness behind that moment).

    A resubmission repeats its original's re-timed line, so it stays a byte-identical copy.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    retimed: dict[str, str] = {}  # original line -> its re-timed line, until the copy is out
    start = now()
    for k, (publish_ts, _, occurred_ts, line, flag) in enumerate(emitted):
        due = start + k / rate
        ahead = due - now()
        if ahead > 0.005:  # sleeping for less is mostly scheduler noise
            sleep(ahead)
        if flag == REPEAT:
            yield retimed.pop(line, line)
            continue
        event = json.loads(line)
        wall = int(max(due, now()))
        event["occurred_at"] = clock.format(wall - (publish_ts - occurred_ts))
        out = encode(event)
        if flag == WILL_REPEAT:
            retimed[line] = out
        yield out
