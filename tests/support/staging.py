"""A stand-in for the bulk build's BulkLoader: what was flushed, kept in lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from projections.model.aggregate import Aggregate
from projections.model.entities import EntityKey


class Staging:
    """Stands in for BulkLoader: what was flushed, kept in lists (the SQL is tested elsewhere)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.aggregates: list[Aggregate] = []

    def flush(
        self,
        a: Aggregate,
        ids: Mapping[int, Iterable[int]],
        offsets: Mapping[int, int],
        entities: list[EntityKey],
    ) -> None:
        self.aggregates.append(a)
        self.ids += [n for numbers in ids.values() for n in numbers]

    def seen_before(self, ids: list[UUID]) -> set[UUID]:
        return {i for i in ids if i.int in set(self.ids)}

    def staged_ids(self, partitions: Iterable[int]) -> Iterable[int]:
        return list(self.ids)
