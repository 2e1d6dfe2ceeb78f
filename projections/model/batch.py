"""Batch bookkeeping shared by the stores: offset filtering, in-batch dedupe, fold, result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.deltas import CheerDelta, DealWonCandidate, Delta
from projections.model.fold import fold
from schemas.events import AnyEvent

# (Kafka partition, offset, decoded event): what the worker hands to apply_batch. The event
# is None for a record the worker sent to the dead-letter topic: only its offset counts.
Record = tuple[int, int, AnyEvent | None]


@dataclass(frozen=True)
class FailedRecord:
    """A record the fold rejected (e.g. an amount without an FX rate): not applied."""

    partition: int
    offset: int
    event_id: UUID
    error: str


@dataclass(frozen=True)
class AppliedResult:
    """What one apply_batch did; deal_wins and cheers are only the newly applied ones."""

    applied: int = 0
    skipped_offsets: int = 0  # records at or below their partition's recorded offset
    duplicates: int = 0  # event_ids already applied (or repeated within the batch)
    failed: tuple[FailedRecord, ...] = ()
    offsets: Mapping[int, int] = field(default_factory=dict)  # recorded offset per partition
    deal_wins: tuple[DealWonCandidate, ...] = ()
    cheers: tuple[CheerDelta, ...] = ()
    metrics: frozenset[str] = frozenset()


@dataclass
class BatchPlan:
    """Records past their offsets, folded, first occurrence of each event_id only."""

    folded: dict[UUID, list[Delta]]
    skipped_offsets: int
    duplicates: int
    failed: list[FailedRecord]
    offsets: dict[int, int]  # the new max offset per partition seen in the batch


def plan_batch(
    records: Sequence[Record], recorded: Mapping[int, int], ctx: FoldContext
) -> BatchPlan:
    """Filter by recorded offsets, drop in-batch repeats and fold the rest."""
    plan = BatchPlan({}, 0, 0, [], {})
    for partition, offset, event in records:
        if offset > plan.offsets.get(partition, -1):
            plan.offsets[partition] = offset
        if offset <= recorded.get(partition, -1):
            plan.skipped_offsets += 1
            continue
        if event is None:
            continue
        if event.event_id in plan.folded:
            plan.duplicates += 1
            continue
        try:
            plan.folded[event.event_id] = fold(event, ctx)
        except ValueError as exc:  # a bad event must not block its partition
            plan.failed.append(FailedRecord(partition, offset, event.event_id, str(exc)))
    for partition, recorded_offset in recorded.items():
        if partition in plan.offsets:
            plan.offsets[partition] = max(plan.offsets[partition], recorded_offset)
    return plan


def result_of(plan: BatchPlan, new_ids: Sequence[UUID], batch: Aggregate) -> AppliedResult:
    """The AppliedResult for the events of the plan that turned out to be new.

    `batch` is the aggregate of exactly those events' deltas.
    """
    return AppliedResult(
        applied=len(new_ids),
        skipped_offsets=plan.skipped_offsets,
        duplicates=plan.duplicates + len(plan.folded) - len(new_ids),
        failed=tuple(plan.failed),
        offsets=dict(plan.offsets),
        deal_wins=tuple(batch.wins.values()),
        cheers=tuple(batch.cheers.values()),
        metrics=frozenset(metric for metric, _, _ in batch.metrics),
    )
