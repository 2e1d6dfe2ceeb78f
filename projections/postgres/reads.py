"""The ReadModel over PostgreSQL: named SQL constants, rows mapped to the read dataclasses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.model.deltas import OpportunityInfo
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
from projections.model.state import OpportunityState, opportunity_of
from projections.postgres import statements as q


def _span_arrays(spans: Sequence[RepSpan]) -> list[list[Any]]:
    return [[s.rep_id for s in spans], [s.start for s in spans], [s.end for s in spans]]


class PostgresReadModel:
    """Reads of one projection version's schema over a psycopg connection.

    `org_once`: the org (units, reps with their memberships) is read once and kept. Only for
    a model over one snapshot (a REPEATABLE READ transaction, as each API request has), where
    the rows cannot change: a request's queries then share one org read instead of one each.
    """

    def __init__(
        self, conn: psycopg.Connection[Any], schema: str, *, org_once: bool = False
    ) -> None:
        self.conn = conn
        self.schema = schema
        self._sql: dict[str, sql.Composed] = {}
        self._org_once = org_once
        self._units: Mapping[str, Unit] | None = None
        self._reps: Mapping[str, Rep] | None = None

    def applied_fingerprints(self, event_ids: Sequence[UUID]) -> dict[UUID, bytes | None]:
        """The applied copy's fingerprint of each of the ids that were applied."""
        rows = self.conn.execute(self.stmt(q.SELECT_FINGERPRINTS), (list(event_ids),))
        return {r[0]: None if r[1] is None else bytes(r[1]) for r in rows.fetchall()}

    def stmt(self, template: str) -> sql.Composed:
        """A statement with the schema filled in (cached: composing is not free)."""
        composed = self._sql.get(template)
        if composed is None:
            composed = sql.SQL(template).format(s=sql.Identifier(self.schema))
            self._sql[template] = composed
        return composed

    def _rows(self, template: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.conn.execute(self.stmt(template), params).fetchall()

    def units(self) -> Mapping[str, Unit]:
        if self._units is not None:
            return self._units
        units = {r[0]: Unit(*r) for r in self._rows(q.SELECT_UNITS)}
        if self._org_once:
            self._units = units
        return units

    def reps(self) -> Mapping[str, Rep]:
        if self._reps is not None:
            return self._reps
        reps = self._read_reps()
        if self._org_once:
            self._reps = reps
        return reps

    def _read_reps(self) -> Mapping[str, Rep]:
        grouped: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in self._rows(q.SELECT_MEMBERSHIPS):
            grouped[row[0]].append(row)
        out = {}
        for rep_id, rows in grouped.items():
            named = [r for r in rows if r[5] is not None]
            name = max(named, key=lambda r: (r[2], r[1]))[5] if named else rep_id
            history = tuple(Membership(r[3], r[2], r[1], r[4]) for r in rows)
            out[rep_id] = Rep(rep_id, name, history)
        return out

    def metric_totals(
        self, metrics: Sequence[str], spans: Sequence[RepSpan]
    ) -> dict[tuple[str, str], MetricTotal]:
        rows = self._rows(q.SELECT_METRIC_TOTALS, [*_span_arrays(spans), list(metrics)])
        return {(m, r): MetricTotal(v, at) for m, r, v, at in rows}

    def metric_days(self, metrics: Sequence[str], spans: Sequence[RepSpan]) -> list[MetricDay]:
        rows = self._rows(q.SELECT_METRIC_DAYS, [*_span_arrays(spans), list(metrics)])
        return [MetricDay(*r) for r in rows]

    def activity_totals(self, spans: Sequence[RepSpan]) -> list[ActivityTotal]:
        return [
            ActivityTotal(*r) for r in self._rows(q.SELECT_ACTIVITY_TOTALS, _span_arrays(spans))
        ]

    def targets(
        self, scope: str | None = None, period: str | None = None, metric: str | None = None
    ) -> list[Target]:
        params = {"scope": scope, "period": period, "metric": metric}
        return [Target(*r) for r in self._rows(q.SELECT_TARGETS, params)]

    def target_history(self, scope: str, metric: str, period: str) -> list[Target]:
        return [Target(*r) for r in self._rows(q.SELECT_TARGET_HISTORY, (scope, metric, period))]

    def decomposition_targets(self, decomposition_id: UUID) -> list[Target]:
        return [Target(*r) for r in self._rows(q.SELECT_DECOMPOSITION, (decomposition_id,))]

    def target_locks(self) -> list[TargetLock]:
        return [TargetLock(*r) for r in self._rows(q.SELECT_LOCKS)]

    def opportunities(self, rep_ids: Sequence[str] | None = None) -> list[Opportunity]:
        params = {"reps": None if rep_ids is None else list(rep_ids)}
        history: dict[str, list[StageEntry]] = defaultdict(list)
        for opp_id, event_id, stage, at in self._rows(q.SELECT_STAGES, params):
            history[opp_id].append(StageEntry(at, event_id, stage))
        return [
            opportunity_of(_state(row), history.get(row[0], []))
            for row in self._rows(q.SELECT_OPPORTUNITIES, params)
        ]

    def deal_wins(
        self,
        limit: int | None = None,
        rep_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[DealWin]:
        params = {"rep": rep_id, "start": start, "end": end, "limit": limit}
        return [DealWin(*r) for r in self._rows(q.SELECT_DEAL_WINS, params)]

    def cheerers(self, broadcast_id: str) -> list[str]:
        return [r[0] for r in self._rows(q.SELECT_CHEERERS, (broadcast_id,))]

    def fact_types(self, kind: str, entity_ids: Sequence[str]) -> dict[str, set[str]]:
        if not entity_ids:
            return {}
        rows = self._rows(q.SELECT_FACT_TYPES, (kind, list(entity_ids)))
        return {r[0]: set(r[1]) for r in rows}


def _state(row: tuple[Any, ...]) -> OpportunityState:
    c = dict(zip(q.OPPORTUNITY_COLUMNS, row, strict=True))

    def stamp(group: str) -> tuple[Any, Any] | None:
        at = c[f"{group}_at"]
        return None if at is None else (at, c[f"{group}_event"])

    info = None
    if c["info_at"] is not None:
        info = OpportunityInfo(
            c["account_id"],
            c["product_line"],
            c["expected_close"],
            c["created_at"],
            c["created_by"],
        )
    return OpportunityState(
        opportunity_id=c["opportunity_id"],
        rep_id=c["rep_id"],
        rep_stamp=stamp("rep"),
        info=info,
        info_stamp=stamp("info"),
        stage=c["stage"],
        stage_stamp=stamp("stage"),
        amount=c["amount"],
        amount_stamp=stamp("amount"),
        outcome=c["outcome"],
        reason=c["reason"],
        outcome_stamp=stamp("outcome"),
    )
