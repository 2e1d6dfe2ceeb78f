"""The read interface every query uses, and the plain rows it returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Unit:
    """A node of the organisation tree."""

    unit_id: str
    name: str
    kind: str
    parent_id: str | None


@dataclass(frozen=True, order=True)
class Membership:
    """A rep's unit from org-local `day` on (None: left); ordered by (day, at, event_id)."""

    day: date
    at: datetime
    event_id: UUID
    unit_id: str | None


@dataclass(frozen=True)
class Rep:
    """A rep with its membership history, oldest first."""

    rep_id: str
    name: str
    memberships: tuple[Membership, ...]


@dataclass(frozen=True)
class RepSpan:
    """The org-local days [start, end) of one rep that count for a scope."""

    rep_id: str
    start: date
    end: date


@dataclass(frozen=True)
class MetricTotal:
    """A metric's sum over spans and the event time at which that sum was reached."""

    value: Decimal
    reached_at: datetime | None


@dataclass(frozen=True)
class MetricDay:
    """A metric's value for one rep on one org-local day."""

    metric: str
    rep_id: str
    day: date
    value: Decimal
    reached_at: datetime


@dataclass(frozen=True)
class ActivityTotal:
    """KPI-independent activity counts of one rep over spans, by kind and subkind."""

    rep_id: str
    kind: str
    subkind: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Target:
    """A target value set by a TargetSet event, with its lineage (TargetSet v2 fields)."""

    scope: str
    metric: str
    period: str
    value: Decimal
    at: datetime
    event_id: UUID
    decomposition_id: UUID | None = None  # the split that produced it; None if set by hand
    set_by: str | None = None
    override: bool = False  # set by an admin over a TargetsLocked lock


@dataclass(frozen=True)
class TargetLock:
    """Targets of a scope (and its subtree) and period locked against revision."""

    scope: str
    period: str
    at: datetime
    event_id: UUID
    set_by: str | None = None


@dataclass(frozen=True, order=True)
class StageEntry:
    """A deal entering a stage (or won / lost), ordered by (entered_at, event_id)."""

    entered_at: datetime
    event_id: UUID
    stage: str


@dataclass(frozen=True)
class Opportunity:
    """A deal's current state and its stage history, oldest first."""

    opportunity_id: str
    rep_id: str | None
    account_id: str | None
    product_line: str | None
    expected_close: date | None
    created_at: datetime | None
    amount: Decimal | None
    stage: str | None  # the last open stage
    outcome: str | None  # won, lost or None while open
    closed_at: datetime | None
    reason: str | None
    history: tuple[StageEntry, ...]
    created_by: str | None = None


@dataclass(frozen=True)
class DealWin:
    """A won deal or signed order (a broadcast, id = source event_id) and its cheer count."""

    event_id: UUID
    source: str
    rep_id: str
    amount: Decimal
    account_id: str | None
    opportunity_id: str | None
    order_id: str | None
    at: datetime
    day: date
    cheers: int


class ReadModel(Protocol):
    """The small set of reads the queries are written against (memory and PostgreSQL)."""

    def units(self) -> Mapping[str, Unit]: ...

    def reps(self) -> Mapping[str, Rep]: ...

    def metric_totals(
        self, metrics: Sequence[str], spans: Sequence[RepSpan]
    ) -> dict[tuple[str, str], MetricTotal]:
        """Sums keyed by (metric, rep_id) over the spans (which must not overlap per rep)."""
        ...

    def metric_days(self, metrics: Sequence[str], spans: Sequence[RepSpan]) -> list[MetricDay]:
        """Daily rows inside the spans, sorted by (metric, rep_id, day)."""
        ...

    def activity_totals(self, spans: Sequence[RepSpan]) -> list[ActivityTotal]:
        """Activity sums per (rep_id, kind, subkind) over the spans, sorted by that key."""
        ...

    def targets(
        self, scope: str | None = None, period: str | None = None, metric: str | None = None
    ) -> list[Target]:
        """Current targets matching the given filters, sorted by (scope, metric, period)."""
        ...

    def target_history(self, scope: str, metric: str, period: str) -> list[Target]:
        """Every TargetSet for one target, oldest first by (at, event_id)."""
        ...

    def decomposition_targets(self, decomposition_id: UUID) -> list[Target]:
        """Every TargetSet a split published (any scope, metric, period), by (at, event_id)."""
        ...

    def target_locks(self) -> list[TargetLock]:
        """The first lock of each (scope, period), sorted by (scope, period)."""
        ...

    def applied_fingerprints(self, event_ids: Sequence[UUID]) -> dict[UUID, bytes | None]:
        """Of these ids, the applied ones with their copy's content fingerprint (None when
        applied before fingerprints were kept)."""
        ...

    def opportunities(self, rep_ids: Sequence[str] | None = None) -> list[Opportunity]:
        """Deals owned by the reps (all if None), sorted by opportunity_id."""
        ...

    def deal_wins(
        self,
        limit: int | None = None,
        rep_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[DealWin]:
        """Announcements, newest first by (at, event_id), optionally of one rep in [start, end)."""
        ...

    def fact_types(self, kind: str, entity_ids: Sequence[str]) -> dict[str, set[str]]:
        """For each order / payment / opportunity with facts, the event types of its facts."""
        ...

    def cheerers(self, broadcast_id: str) -> list[str]:
        """Reps who cheered a broadcast, sorted."""
        ...
