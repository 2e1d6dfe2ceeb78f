"""Which broadcasts-topic offsets are finished (every matching channel recorded an outcome).

The notifier commits, per partition, the first offset still waiting on a channel, so a
restart re-reads only what was not finished; PostgreSQL's delivery state then skips whatever
was recorded meanwhile. Kafka's committed offset is a hint, the delivery table the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable


class OffsetBook:
    """Offsets read and how many channel outcomes each still waits for, per partition."""

    def __init__(self) -> None:
        self._waiting: dict[Hashable, dict[int, int]] = {}
        self._next: dict[Hashable, int] = {}

    def read(self, partition: Hashable, offset: int, outcomes: int) -> Callable[[], None]:
        """Note a record read; the returned callback is called once per outcome recorded."""
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)
        if outcomes == 0:
            return lambda: None
        waiting = self._waiting.setdefault(partition, {})
        waiting[offset] = waiting.get(offset, 0) + outcomes

        def done() -> None:
            left = waiting.get(offset, 0) - 1
            if left <= 0:
                waiting.pop(offset, None)
            else:
                waiting[offset] = left

        return done

    def positions(self) -> dict[Hashable, int]:
        """The offset to commit per partition: the first unfinished one, or the next to read."""
        out = {}
        for partition, end in self._next.items():
            waiting = self._waiting.get(partition)
            out[partition] = min(waiting) if waiting else end
        return out

    def forget(self, partitions: set[Hashable]) -> None:
        """Partitions moved to another notifier: whatever they wait for is theirs now."""
        for partition in partitions:
            self._waiting.pop(partition, None)
            self._next.pop(partition, None)
