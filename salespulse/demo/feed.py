"""Publishing the simulated org: its history as fast as Kafka takes it, then live at a pace."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Protocol

from producers.admission import Admission
from producers.simulator.live import paced
from producers.simulator.outbox import Emitted
from producers.simulator.rhythm import Clock
from schemas.events import AnyEvent

_BATCH = 2000  # events per publish_many: amortises the per-call cost, as `simulate` does
_WON = '"type":"OpportunityWon"'  # the simulator's envelope is compact JSON with this key order


class Publisher(Protocol):
    """What the feed needs of infra.publisher.EventPublisher."""

    def publish(self, event: AnyEvent) -> None: ...

    def publish_many(self, events: Iterable[AnyEvent]) -> int: ...

    def flush(self, timeout: float | None = None) -> None: ...


def publish_history(
    items: Iterator[Emitted],
    until_ts: int,
    publisher: Publisher,
    progress: Callable[[int, int], None],
    admission: Admission,
) -> tuple[int, Iterator[Emitted]]:
    """Publish, in order, every event due by `until_ts` (epoch s); `progress(count, publish_ts)`
    after each batch. Returns the count and the events still to come (for the live feed)."""
    batch: list[str] = []
    count = 0
    rest: Iterator[Emitted] = iter(())
    for item in items:
        if item[0] > until_ts:
            rest = chain((item,), items)
            break
        batch.append(item[3])
        if len(batch) >= _BATCH:
            count += publisher.publish_many(admission.generated(line, count) for line in batch)
            batch = []
            progress(count, item[0])
    if batch:
        count += publisher.publish_many(admission.generated(line, count) for line in batch)
    # The history is complete in the log before anyone waits for it to be applied.
    publisher.flush()
    return count, rest


class LiveFeed:
    """Releases events at `rate` per second with occurred_at moved to the moment each is sent,
    so a deal appears on the dashboard's ticker as it is published.

    `published` is exact at any moment, even after an interrupt, so the demo can record how
    far it got and a later run continues with the next event rather than a repeat.
    """

    def __init__(
        self, publisher: Publisher, rate: float, clock: Clock, admission: Admission
    ) -> None:
        self.publisher = publisher
        self.admission = admission
        self.rate = rate
        self.clock = clock
        self.published = 0
        self.won = 0

    def run(
        self,
        items: Iterable[Emitted],
        nap: Callable[[float], None],
        tick: Callable[[], None],
        tick_every_s: float = 5.0,
    ) -> None:
        """Publish until `items` run out. `nap` sleeps between events (the caller watches its
        processes there); `tick` runs every `tick_every_s` seconds."""
        next_tick = time.monotonic() + tick_every_s
        for line in paced(items, self.rate, self.clock, sleep=nap):
            # One event at a time: the producer's linger (10 ms) sends it almost at once.
            self.publisher.publish(self.admission.generated(line, self.published))
            self.published += 1
            self.won += _WON in line
            if time.monotonic() >= next_tick:
                next_tick += tick_every_s
                tick()
        self.publisher.flush()
