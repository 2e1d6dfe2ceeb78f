"""InMemoryProjection: deltas applied to dicts; with the fold over a list it is the batch oracle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.model.aggregate import Aggregate
from projections.model.batch import (
    AppliedResult,
    Conflict,
    Record,
    plan_batch,
    result_of,
    settle_copies,
)
from projections.model.context import FoldContext
from projections.model.deltas import Delta
from projections.model.fold import fold
from projections.model.lockrule import current_targets
from projections.model.readmodel import (
    ActivityTotal,
    DealWin,
    Membership,
    MetricDay,
    MetricTotal,
    Opportunity,
    Rep,
    RepSpan,
    StageEntry,
    Target,
    TargetLock,
    Unit,
)
from projections.model.state import opportunity_of
from schemas.events import AnyEvent
from schemas.fingerprint import fingerprint


def _in_spans(spans: Mapping[str, list[RepSpan]], rep_id: str, day: date) -> bool:
    return any(s.start <= day < s.end for s in spans.get(rep_id, ()))


def _by_rep(spans: Sequence[RepSpan]) -> dict[str, list[RepSpan]]:
    out: dict[str, list[RepSpan]] = defaultdict(list)
    for s in spans:
        out[s.rep_id].append(s)
    return out


class InMemoryProjection:
    """The whole read model in dicts; also a Fake store with apply_batch semantics."""

    def __init__(self, ctx: FoldContext) -> None:
        self.ctx = ctx
        self.state = Aggregate()
        self.offsets: dict[int, int] = {}
        self.applied_ids: set[UUID] = set()
        self.fingerprints: dict[UUID, bytes] = {}  # the applied copy's, by event_id
        self.conflicts: list[Conflict] = []  # copies refused for differing content

    # -- writing -------------------------------------------------------------------------
    def apply_event(self, event: AnyEvent) -> bool:
        """Fold and apply one event unless its event_id was applied before (a copy with other
        content is recorded as a conflict: the first copy is the event)."""
        print_ = fingerprint(event)
        if event.event_id in self.applied_ids:
            kept = self.fingerprints.get(event.event_id)
            if kept != print_:
                self.conflicts.append(Conflict(event.event_id, print_, kept, -1, -1))
            return False
        deltas = fold(event, self.ctx)
        self.applied_ids.add(event.event_id)
        self.fingerprints[event.event_id] = print_
        self.apply(deltas)
        return True

    def apply(self, deltas: Iterable[Delta]) -> None:
        self.state.add_all(deltas)
        self.state.settle(self.ctx)

    def apply_batch(self, records: Sequence[Record]) -> AppliedResult:
        """Same contract as PostgresProjectionStore.apply_batch (offsets, event_id dedupe)."""
        plan = plan_batch(records, self.offsets, self.ctx)
        new_ids = [i for i in plan.folded if i not in self.applied_ids]
        settle_copies(
            plan, {i: self.fingerprints.get(i) for i in plan.folded if i in self.applied_ids}
        )
        self.conflicts += plan.conflicts
        batch = Aggregate()
        for event_id in new_ids:
            self.applied_ids.add(event_id)
            self.fingerprints[event_id] = plan.copies[event_id][2]
            self.apply(plan.folded[event_id])
            batch.add_all(plan.folded[event_id])
        # The batch's view of its entities' credits (for the metric names it touched).
        for key in batch.unsettled:
            batch.credits[key] = self.state.credits[key]
            batch.facts[key] = dict(self.state.facts[key])
        batch.unsettled.clear()
        self.offsets.update(plan.offsets)
        return result_of(plan, new_ids, batch)

    def applied_fingerprints(self, event_ids: Sequence[UUID]) -> dict[UUID, bytes | None]:
        """The applied copy's fingerprint of each of the ids that were applied."""
        return {i: self.fingerprints.get(i) for i in event_ids if i in self.applied_ids}

    def snapshot(self) -> tuple[Any, ...]:
        """Every keyed row; equal snapshots mean equal projections (dict order is ignored)."""
        s = self.state
        return (
            s.metrics,
            s.activities,
            s.units,
            s.memberships,
            s.targets,
            s.target_history,
            s.locks,
            s.opportunities,
            s.stages,
            s.wins,
            s.cheers,
            s.facts,
            s.credits,
        )

    def _metric_cells(self) -> list[tuple[str, str, date, Decimal, Any]]:
        """(metric, rep, day, value, reached_at): per-event sums and the entities' credits."""
        cells: dict[tuple[str, str, date], list[Any]] = {
            k: list(v) for k, v in self.state.metrics.items()
        }
        for rows in self.state.credits.values():
            for c in rows:
                cell = cells.get((c.metric, c.rep_id, c.day))
                if cell is None:
                    cells[(c.metric, c.rep_id, c.day)] = [c.value, c.at]
                else:
                    cell[0] += c.value
                    cell[1] = max(cell[1], c.at)
        return [(m, r, d, v, at) for (m, r, d), (v, at) in cells.items()]

    # -- reading (ReadModel) -------------------------------------------------------------
    def units(self) -> Mapping[str, Unit]:
        return {
            u.unit_id: Unit(u.unit_id, u.name, u.kind, u.parent_id)
            for u in sorted(self.state.units.values(), key=lambda u: u.unit_id)
        }

    def reps(self) -> Mapping[str, Rep]:
        grouped: dict[str, list[Any]] = defaultdict(list)
        for m in self.state.memberships.values():
            grouped[m.rep_id].append(m)
        out: dict[str, Rep] = {}
        for rep_id in sorted(grouped):
            ms = grouped[rep_id]
            named = [m for m in ms if m.name is not None]
            name = max(named, key=lambda m: (m.at, m.event_id)).name if named else rep_id
            history = tuple(sorted(Membership(m.day, m.at, m.event_id, m.unit_id) for m in ms))
            out[rep_id] = Rep(rep_id, name, history)
        return out

    def metric_totals(
        self, metrics: Sequence[str], spans: Sequence[RepSpan]
    ) -> dict[tuple[str, str], MetricTotal]:
        wanted, by_rep = set(metrics), _by_rep(spans)
        sums: dict[tuple[str, str], tuple[Decimal, Any]] = {}
        for metric, rep_id, day, value, at in self._metric_cells():
            if metric in wanted and _in_spans(by_rep, rep_id, day):
                old = sums.get((metric, rep_id))
                if old is not None:
                    value, at = old[0] + value, max(old[1], at)
                sums[(metric, rep_id)] = (value, at)
        return {k: MetricTotal(v, at) for k, (v, at) in sorted(sums.items())}

    def metric_days(self, metrics: Sequence[str], spans: Sequence[RepSpan]) -> list[MetricDay]:
        wanted, by_rep = set(metrics), _by_rep(spans)
        return sorted(
            (
                MetricDay(m, r, d, v, at)
                for m, r, d, v, at in self._metric_cells()
                if m in wanted and _in_spans(by_rep, r, d)
            ),
            key=lambda row: (row.metric, row.rep_id, row.day),
        )

    def activity_totals(self, spans: Sequence[RepSpan]) -> list[ActivityTotal]:
        by_rep = _by_rep(spans)
        sums: dict[tuple[str, str, str], tuple[int, Decimal]] = {}
        for (rep_id, day, kind, sub), (count, amount) in self.state.activities.items():
            if _in_spans(by_rep, rep_id, day):
                c, a = sums.get((rep_id, kind, sub), (0, Decimal(0)))
                sums[(rep_id, kind, sub)] = (c + count, a + amount)
        return [ActivityTotal(r, k, s, c, a) for (r, k, s), (c, a) in sorted(sums.items())]

    def targets(
        self, scope: str | None = None, period: str | None = None, metric: str | None = None
    ) -> list[Target]:
        current = current_targets(self.state.target_history.values(), self.state.locks)
        return [
            Target(*t)
            for t in current
            if (scope is None or t.scope == scope)
            and (period is None or t.period == period)
            and (metric is None or t.metric == metric)
        ]

    def target_history(self, scope: str, metric: str, period: str) -> list[Target]:
        rows = [
            t
            for t in self.state.target_history.values()
            if (t.scope, t.metric, t.period) == (scope, metric, period)
        ]
        rows.sort(key=lambda t: (t.at, t.event_id))
        return [Target(*t) for t in rows]

    def decomposition_targets(self, decomposition_id: UUID) -> list[Target]:
        rows = [
            t for t in self.state.target_history.values() if t.decomposition_id == decomposition_id
        ]
        rows.sort(key=lambda t: (t.at, t.event_id))
        return [Target(*t) for t in rows]

    def target_locks(self) -> list[TargetLock]:
        return [TargetLock(*x) for _, x in sorted(self.state.locks.items())]

    def opportunities(self, rep_ids: Sequence[str] | None = None) -> list[Opportunity]:
        wanted = None if rep_ids is None else set(rep_ids)
        history: dict[str, list[StageEntry]] = defaultdict(list)
        for (opp_id, event_id), st in self.state.stages.items():
            history[opp_id].append(StageEntry(st.at, event_id, st.stage))
        return [
            opportunity_of(s, history.get(opp_id, []))
            for opp_id, s in sorted(self.state.opportunities.items())
            if wanted is None or s.rep_id in wanted
        ]

    def deal_wins(
        self,
        limit: int | None = None,
        rep_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[DealWin]:
        counts: dict[str, int] = defaultdict(int)
        for broadcast_id, _ in self.state.cheers:
            counts[broadcast_id] += 1
        rows = [
            DealWin(
                w.event_id,
                w.source,
                w.rep_id,
                w.amount,
                w.account_id,
                w.opportunity_id,
                w.order_id,
                w.at,
                w.day,
                counts.get(str(w.event_id), 0),
            )
            for w in self.state.wins.values()
            if (rep_id is None or w.rep_id == rep_id)
            and (start is None or w.day >= start)
            and (end is None or w.day < end)
        ]
        rows.sort(key=lambda w: (w.at, w.event_id), reverse=True)
        return rows if limit is None else rows[:limit]

    def fact_types(self, kind: str, entity_ids: Sequence[str]) -> dict[str, set[str]]:
        facts = self.state.facts
        return {
            i: {f.fact for f in facts[(kind, i)].values()} for i in entity_ids if (kind, i) in facts
        }

    def cheerers(self, broadcast_id: str) -> list[str]:
        return sorted(rep for b, rep in self.state.cheers if b == broadcast_id)
