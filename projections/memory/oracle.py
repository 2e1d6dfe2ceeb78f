"""The batch oracle: the pure fold over a Python list, the reference for every streaming test."""

from __future__ import annotations

from collections.abc import Iterable

from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from schemas.events import AnyEvent


def build_oracle(events: Iterable[AnyEvent], ctx: FoldContext) -> InMemoryProjection:
    """Apply every event once (by event_id), in the given order, to a fresh projection."""
    projection = InMemoryProjection(ctx)
    for event in events:
        projection.apply_event(event)
    return projection
