"""Deltas merged into keyed rows: the in-memory state and the store's per-batch pre-aggregation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, ClassVar
from uuid import UUID

from projections.model.context import FoldContext
from projections.model.deltas import (
    ActivityDelta,
    CheerDelta,
    CreditRow,
    DealWonCandidate,
    Delta,
    FactDelta,
    MembershipDelta,
    MetricDelta,
    OpportunityDelta,
    StageEnteredDelta,
    TargetDelta,
    TargetLockDelta,
    UnitDefinedDelta,
)
from projections.model.entities import EntityKey, credits_of
from projections.model.fold import (
    ACTIVITY_ONLY,
    EVENT_HANDLERS,
    FoldEvent,
    compiled,
    local_day,
)
from projections.model.state import OpportunityState, merge_opportunity

_ZERO = Decimal(0)
# Per activity-only type: its activity kind and the getter of the data field naming the subkind.
_ACTIVITY = {t: (kind, attrgetter(field)) for t, (kind, field) in ACTIVITY_ONLY.items()}


def _metric_values(kind: str, data: Any, ctx: FoldContext) -> list[tuple[str, Any]]:
    """The event's non-zero per-event metric values (a zero adds nothing but would move "when
    the value was reached" later, as in fold); raises before anything is merged."""
    return [
        (name, value)
        for name, evaluate in compiled(ctx.kpis).get(kind, ())
        if (value := evaluate(data, ctx))
    ]


class Aggregate:
    """Keyed rows under commutative merges, so any arrival order gives the same rows.

    Sums add, `reached_at` takes max, definitions and targets are last-writer-wins on
    (at, event_id), locks and cheers keep the first, history rows are sets keyed by event_id.
    The PostgreSQL store writes an Aggregate with ON CONFLICT clauses doing the same merges.

    Orders, payments and opportunities are also sets of facts (`facts`, keyed by entity);
    `settle(ctx)` recomputes the credited metric rows (`credits`) of every entity that got a
    fact since the last settle, from all of its facts. A store first adds the facts it already
    holds for those entities with `add_known_facts`, so `new_facts` is what it has to write.
    """

    def __init__(self) -> None:
        # Sums are mutable [value, at] / [count, amount] cells: no new tuple per delta.
        self.metrics: dict[tuple[str, str, date], list[Any]] = {}
        self.activities: dict[tuple[str, date, str, str], list[Any]] = {}
        self.units: dict[str, UnitDefinedDelta] = {}
        self.memberships: dict[tuple[str, UUID], MembershipDelta] = {}
        self.targets: dict[tuple[str, str, str], TargetDelta] = {}
        self.target_history: dict[UUID, TargetDelta] = {}
        self.locks: dict[tuple[str, str], TargetLockDelta] = {}
        self.opportunities: dict[str, OpportunityState] = {}
        self.stages: dict[tuple[str, UUID], StageEnteredDelta] = {}
        self.wins: dict[UUID, DealWonCandidate] = {}
        self.cheers: dict[tuple[str, str], CheerDelta] = {}
        self.facts: dict[EntityKey, dict[UUID, FactDelta]] = {}
        self.new_facts: dict[UUID, FactDelta] = {}
        self.credits: dict[EntityKey, tuple[CreditRow, ...]] = {}
        self.unsettled: set[EntityKey] = set()

    def add_all(self, deltas: Iterable[Delta]) -> None:
        metrics, activities, adders = self.metrics, self.activities, self.ADDERS
        for d in deltas:
            # The two kinds that make up most deltas are merged inline (the hot path).
            if isinstance(d, MetricDelta):
                cell = metrics.get((d.metric, d.rep_id, d.day))
                if cell is None:
                    metrics[(d.metric, d.rep_id, d.day)] = [d.value, d.at]
                else:
                    cell[0] += d.value
                    if d.at > cell[1]:
                        cell[1] = d.at
            elif isinstance(d, ActivityDelta):
                key = (d.rep_id, d.day, d.kind, d.subkind)
                cell = activities.get(key)
                if cell is None:
                    activities[key] = [d.quantity, d.amount]
                else:
                    cell[0] += d.quantity
                    cell[1] += d.amount
            else:
                adders[type(d)](self, d)

    def fold_in(self, event: FoldEvent, ctx: FoldContext) -> None:
        """add_all(fold(event, ctx)) without the deltas of the two hot kinds: the cells of an
        activity-only event and of every per-event metric are merged in place (the replay's
        hot path: most of a log are calls, each one activity and up to three metric cells).
        Like fold, it raises (e.g. no FX rate) before it changes anything."""
        day = local_day(event, ctx)
        kind, rep, data, at = event.type, event.rep_id or "", event.data, event.occurred_at
        if kind in ACTIVITY_ONLY:
            self.fold_activity(kind, rep, day, at, data, ctx)
            return
        values = _metric_values(kind, data, ctx)
        self.add_all(EVENT_HANDLERS[kind](event, ctx, day))
        self.add_metrics(values, rep, day, at)

    def fold_activity(
        self, kind: str, rep: str | None, day: date, at: datetime, data: Any, ctx: FoldContext
    ) -> None:
        """fold_in of an event of an ACTIVITY_ONLY type given as its parts (the bulk build's
        decode_activity reads no more than these): one activity count, its metric cells."""
        values = _metric_values(kind, data, ctx)
        activity, subkind = _ACTIVITY[kind]
        rep = rep or ""
        key = (rep, day, activity, subkind(data))
        cell = self.activities.get(key)
        if cell is None:
            self.activities[key] = [1, _ZERO]
        else:
            cell[0] += 1  # its amount stays zero: no count of this key has one
        self.add_metrics(values, rep, day, at)

    def add_metrics(self, values: list[tuple[str, Any]], rep: str, day: date, at: Any) -> None:
        """Add (metric, value) pairs to the rep's day cells, reached at `at` (the later wins;
        the earlier arrived among equals)."""
        metrics = self.metrics
        for name, value in values:
            cell = metrics.get((name, rep, day))
            if cell is None:
                metrics[(name, rep, day)] = [value, at]
            else:
                cell[0] += value
                if at > cell[1]:
                    cell[1] = at

    def _unit(self, d: UnitDefinedDelta) -> None:
        old = self.units.get(d.unit_id)
        if old is None or (d.at, d.event_id) > (old.at, old.event_id):
            self.units[d.unit_id] = d

    def _membership(self, d: MembershipDelta) -> None:
        self.memberships[(d.rep_id, d.event_id)] = d

    def _target(self, d: TargetDelta) -> None:
        self.target_history[d.event_id] = d
        key = (d.scope, d.metric, d.period)
        old = self.targets.get(key)
        if old is None or (d.at, d.event_id) > (old.at, old.event_id):
            self.targets[key] = d

    def _lock(self, d: TargetLockDelta) -> None:
        old = self.locks.get((d.scope, d.period))
        if old is None or (d.at, d.event_id) < (old.at, old.event_id):
            self.locks[(d.scope, d.period)] = d

    def _opportunity(self, d: OpportunityDelta) -> None:
        self.opportunities[d.opportunity_id] = merge_opportunity(
            self.opportunities.get(d.opportunity_id), d
        )

    def _stage(self, d: StageEnteredDelta) -> None:
        self.stages[(d.opportunity_id, d.event_id)] = d

    def _win(self, d: DealWonCandidate) -> None:
        self.wins[d.event_id] = d

    def _fact(self, d: FactDelta) -> None:
        key = (d.kind, d.entity_id)
        self.facts.setdefault(key, {})[d.event_id] = d
        self.new_facts[d.event_id] = d
        self.unsettled.add(key)

    def add_known_facts(self, facts: Iterable[FactDelta]) -> None:
        """Facts a store already holds (not to be written again) for entities of this batch."""
        for d in facts:
            self.facts.setdefault((d.kind, d.entity_id), {}).setdefault(d.event_id, d)

    def settle(self, ctx: FoldContext) -> list[EntityKey]:
        """Recompute the credits of every entity with a new fact; returns those entities."""
        keys = sorted(self.unsettled)
        for key in keys:
            self.credits[key] = credits_of(key, self.facts[key].values(), ctx)
        self.unsettled.clear()
        return keys

    def _cheer(self, d: CheerDelta) -> None:
        old = self.cheers.get((d.broadcast_id, d.rep_id))
        if old is None or (d.at, d.event_id) < (old.at, old.event_id):
            self.cheers[(d.broadcast_id, d.rep_id)] = d

    # Delta type -> its merge (a table inside the class: the merges are its own methods).
    ADDERS: ClassVar[dict[type[Any], Callable[[Aggregate, Any], None]]] = {
        UnitDefinedDelta: _unit,
        MembershipDelta: _membership,
        TargetDelta: _target,
        TargetLockDelta: _lock,
        OpportunityDelta: _opportunity,
        StageEnteredDelta: _stage,
        DealWonCandidate: _win,
        CheerDelta: _cheer,
        FactDelta: _fact,
    }
