"""Batch bookkeeping shared by the stores: offset filtering, in-batch dedupe, fold, result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple
from uuid import UUID

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.deltas import CheerDelta, CreditRow, DealWonCandidate, Delta, FactDelta
from projections.model.fold import FoldEvent, fold
from schemas.fingerprint import fingerprint

# (Kafka partition, offset, decoded event): what the worker hands to apply_batch. The event
# is None for a record the worker sent to the dead-letter topic: only its offset counts.
Record = tuple[int, int, FoldEvent | None]


@dataclass(frozen=True)
class FailedRecord:
    """A record the fold rejected (e.g. an amount without an FX rate): not applied."""

    partition: int
    offset: int
    event_id: UUID
    error: str


# Facts that change what an announced deal is: the TV strikes it through or shows the new value.
CORRECTING_FACTS = frozenset(
    {"OrderAmended", "OrderCancelled", "OpportunityReopened", "CreditAssigned", "OpportunityLost"}
)


class Correction(NamedTuple):
    """A newly applied correcting fact, with what its entity counts now (for announcements)."""

    fact: FactDelta
    credits: tuple[CreditRow, ...]  # the entity's credited rows after the batch
    reps: tuple[str, ...]  # every rep the entity was ever credited to (milestones to recheck)
    days: tuple[date, ...]  # the entity's own day and the correction's day


@dataclass(frozen=True)
class AppliedResult:
    """What one apply_batch did; deal_wins and cheers are only the newly applied ones."""

    applied: int = 0
    skipped_offsets: int = 0  # records at or below their partition's recorded offset
    duplicates: int = 0  # event_ids already applied (or repeated within the batch)
    failed: tuple[FailedRecord, ...] = ()
    offsets: Mapping[int, int] = field(default_factory=dict)  # recorded offset per partition
    deal_wins: tuple[DealWonCandidate, ...] = ()  # re-sent OrderSigned left out: amendments
    cheers: tuple[CheerDelta, ...] = ()
    corrections: tuple[Correction, ...] = ()
    metrics: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Conflict:
    """A copy of an applied event_id with other content: not counted, recorded, dead-lettered.

    The rule (one event_id, one content): the first copy applied is the event; a later copy
    that differs is refused whatever it says. Copies of one aggregate share a partition, so
    "first" is log order for live, replay and the oracle alike."""

    event_id: UUID
    fingerprint: bytes
    kept: bytes | None
    partition: int
    offset: int

    def failure(self) -> FailedRecord:
        reason = (
            f"conflicting copy: event_id {self.event_id} was applied before with other "
            "content; this copy is not counted"
        )
        return FailedRecord(self.partition, self.offset, self.event_id, reason)


@dataclass
class BatchPlan:
    """Records past their offsets, folded, first occurrence of each event_id only."""

    folded: dict[UUID, list[Delta]]
    skipped_offsets: int
    duplicates: int
    failed: list[FailedRecord]
    offsets: dict[int, int]  # the new max offset per partition seen in the batch
    # The first copy of each folded event_id, and the later ones: (partition, offset,
    # fingerprint); settle_copies tells which of them are conflicts.
    copies: dict[UUID, tuple[int, int, bytes]] = field(default_factory=dict)
    repeats: dict[UUID, list[tuple[int, int, bytes]]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


# A record's fold (or what the fold raised) and fingerprint; None for a record without event.
Folded = tuple[list[Delta] | Exception, bytes] | None


@dataclass(frozen=True)
class Prefolded:
    """Every record of a batch folded and fingerprinted under one context ahead of its
    transaction: the live worker folds the next batch while PostgreSQL writes the previous
    one (in the transaction both threads waited on each other: the worker used one core at
    ~70 % and PostgreSQL the other at ~35 %). Used only for exactly these records and this
    context; anything else (a bisected half, another version) is folded in the plan."""

    records: Sequence[Record]
    ctx: FoldContext
    results: list[Folded]


def prefold(records: Sequence[Record], ctx: FoldContext) -> Prefolded:
    return Prefolded(records, ctx, [_fold_one(event, ctx) for _, _, event in records])


def _fold_one(event: FoldEvent | None, ctx: FoldContext) -> Folded:
    if event is None:
        return None
    try:
        deltas: list[Delta] | Exception = fold(event, ctx)
    except Exception as exc:  # raised again where the plan takes the first copy's fold
        deltas = exc
    return deltas, fingerprint(event)


def plan_batch(
    records: Sequence[Record],
    recorded: Mapping[int, int],
    ctx: FoldContext,
    ahead: Prefolded | None = None,
) -> BatchPlan:
    """Filter by recorded offsets, drop in-batch repeats and fold the rest (or take the fold
    `ahead` made of these records under this context)."""
    plan = BatchPlan({}, 0, 0, [], {})
    results = ahead.results if ahead and ahead.records is records and ahead.ctx is ctx else None
    for i, (partition, offset, event) in enumerate(records):
        if offset > plan.offsets.get(partition, -1):
            plan.offsets[partition] = offset
        if offset <= recorded.get(partition, -1):
            plan.skipped_offsets += 1
            continue
        if event is None:
            continue
        folded = results[i] if results is not None else _fold_one(event, ctx)
        assert folded is not None
        deltas, print_ = folded
        if event.event_id in plan.copies:
            plan.duplicates += 1
            plan.repeats.setdefault(event.event_id, []).append((partition, offset, print_))
            continue
        try:
            if isinstance(deltas, Exception):
                raise deltas
            plan.folded[event.event_id] = deltas
            plan.copies[event.event_id] = (partition, offset, print_)
        except ValueError as exc:  # a bad event must not block its partition
            plan.failed.append(FailedRecord(partition, offset, event.event_id, str(exc)))
    for partition, recorded_offset in recorded.items():
        if partition in plan.offsets:
            plan.offsets[partition] = max(plan.offsets[partition], recorded_offset)
    return plan


def settle_copies(plan: BatchPlan, applied: Mapping[UUID, bytes | None]) -> None:
    """Record as conflicts the copies whose content differs from the event's: the copy
    applied before (`applied`: id -> its fingerprint) or, for a new id, the batch's first
    copy. An unknown fingerprint (None: applied before they were kept) conflicts with nothing.
    """
    for event_id, first in plan.copies.items():
        if event_id in applied:
            reference, candidates = applied[event_id], [first, *plan.repeats.get(event_id, ())]
        else:
            reference, candidates = first[2], plan.repeats.get(event_id, [])
        if reference is None:
            continue
        for partition, offset, print_ in candidates:
            if print_ != reference:
                conflict = Conflict(event_id, print_, reference, partition, offset)
                plan.conflicts.append(conflict)
                plan.failed.append(conflict.failure())
    plan.failed.sort(key=lambda f: (f.partition, f.offset))


def result_of(plan: BatchPlan, new_ids: Sequence[UUID], batch: Aggregate) -> AppliedResult:
    """The AppliedResult for the events of the plan that turned out to be new.

    `batch` is the aggregate of exactly those events' deltas.
    """
    resent = {f.event_id for f in batch.new_facts.values() if _resent(f, batch)}
    corrections = tuple(
        _correction(f, batch)
        for f in sorted(batch.new_facts.values(), key=lambda f: (f.at, f.event_id))
        if f.fact in CORRECTING_FACTS or f.event_id in resent
    )
    return AppliedResult(
        applied=len(new_ids),
        skipped_offsets=plan.skipped_offsets,
        duplicates=plan.duplicates + len(plan.folded) - len(new_ids),
        failed=tuple(plan.failed),
        offsets=dict(plan.offsets),
        deal_wins=tuple(w for w in batch.wins.values() if w.event_id not in resent),
        cheers=tuple(batch.cheers.values()),
        metrics=frozenset(metric for metric, _, _ in batch.metrics)
        | frozenset(c.metric for rows in batch.credits.values() for c in rows),
        corrections=corrections,
    )


def _resent(f: FactDelta, batch: Aggregate) -> bool:
    """An OrderSigned of an order signed before (known earlier, or earlier in this batch)."""
    if f.fact != "OrderSigned":
        return False
    return any(
        o.fact == "OrderSigned"
        and o.event_id != f.event_id
        and (o.event_id not in batch.new_facts or (o.at, o.event_id) < (f.at, f.event_id))
        for o in batch.facts[(f.kind, f.entity_id)].values()
    )


def _correction(f: FactDelta, batch: Aggregate) -> Correction:
    key = (f.kind, f.entity_id)
    facts = batch.facts[key].values()
    reps = {o.rep_id for o in facts if o.fact in _OWNING} | {
        rep for o in facts if o.shares for rep, _ in o.shares
    }
    days = {f.day} | {o.day for o in facts if o.fact in _OWNING}
    return Correction(f, batch.credits.get(key, ()), tuple(sorted(reps)), tuple(sorted(days)))


_OWNING = frozenset({"OrderSigned", "PaymentReceived", "OpportunityWon", "OpportunityLost"})
