"""What the routes read through: a read model with its KPI definitions, and where both come from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Protocol

from projections.broadcasts.log import Broadcast
from projections.memory.projection import InMemoryProjection
from projections.queries.view import ReadView
from schemas.events import AnyEvent

# Called once per request; the context manager holds whatever makes the view consistent
# (for PostgreSQL, one REPEATABLE READ transaction on the active version's schema).
ReadModelFactory = Callable[[], AbstractContextManager[ReadView]]


class Publisher(Protocol):
    """The part of infra.publisher.EventPublisher the API uses (a Fake in tests)."""

    def publish(self, event: AnyEvent) -> None: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, raise_errors: bool = True) -> None: ...


PublisherFactory = Callable[[], Publisher]


def utc_now() -> datetime:
    """The default clock: queries are "as of now"."""
    return datetime.now(UTC)


def memory_read_side(projection: InMemoryProjection) -> ReadModelFactory:
    """A factory over an in-memory projection (tests, tools): its own KPI definitions."""

    @contextmanager
    def view() -> Iterator[ReadView]:
        yield ReadView(projection, projection.ctx.kpis)

    return view


class BroadcastSource(Protocol):
    """The broadcast log as the API reads it (broadcasts.log.BroadcastLog, or a Fake)."""

    def recent(self, limit: int) -> list[Broadcast]: ...

    def after(self, seq: int, limit: int = 500) -> list[Broadcast]: ...

    def get(self, broadcast_id: str) -> Broadcast | None: ...

    def last_seq(self) -> int: ...
