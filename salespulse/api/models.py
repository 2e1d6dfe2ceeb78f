"""Response models: goals, leaderboard, contest, targets, ingest, broadcasts, versions, org.

Every amount, ratio and count-like decimal is a decimal string on the wire ("12500.00"), never
a float, so no client ever sees 0.30000000000000004.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from projections.queries.numbers import plain


def _plain(value: Decimal) -> str:
    # Fixed point, no exponent, no padding zeros from the wire scale: "12500.1".
    return plain(value)


Amount = Annotated[
    Decimal,
    PlainSerializer(_plain, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["12500.00"]}),
]


class Out(BaseModel):
    """Base of the response models: built from the query dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(Out):
    parameter: str | None
    error: str


class ErrorOut(Out):
    """The body of every 4xx/5xx response we raise."""

    detail: ErrorDetail


class GoalLineOut(Out):
    metric: str
    target: Amount
    actual: Amount
    completion: Amount | None
    gap: Amount
    expected_to_date: Amount
    pace: Amount | None
    pace_status: Literal["ahead", "on_track", "at_risk", "behind"]
    forecast: Amount | None
    forecast_method: str
    forecast_completion: Amount | None
    in_healthy_band: bool | None
    # Sum of the direct org children's targets (same period) and target minus it; None
    # without org children (projections/allocation.py). Negative unallocated: over-allocated.
    allocated: Amount | None
    unallocated: Amount | None
    # The same over the child periods (quarters of a year, ...); None if not split over time.
    allocated_over_time: Amount | None
    unallocated_over_time: Amount | None


class GoalsOut(Out):
    scope: str
    period: str
    as_of: datetime
    as_of_day: date
    elapsed_days: int
    period_days: int
    metrics: list[GoalLineOut]
    unknown_metrics: list[str]

    @classmethod
    def of(cls, report: Any) -> GoalsOut:
        """From a projections.queries.goals.GoalReport (its `lines` become `metrics`)."""
        return cls(
            scope=report.scope,
            period=report.period,
            as_of=report.as_of,
            as_of_day=report.as_of_day,
            elapsed_days=report.elapsed_days,
            period_days=report.period_days,
            metrics=[GoalLineOut.model_validate(line) for line in report.lines],
            unknown_metrics=list(report.unknown_metrics),
        )


class LeaderboardEntryOut(Out):
    rank: int
    rep_id: str
    name: str
    value: Amount
    completion: Amount | None
    target: Amount | None
    reached_at: datetime | None
    unit_id: str | None  # the rep's team on the last counted day
    unit_name: str | None


class LeaderboardOut(Out):
    metric: str
    scope: str
    period: str
    entries: list[LeaderboardEntryOut]
    team_total: Amount
    team_target: Amount | None
    team_completion: Amount | None


class ContestEntryOut(Out):
    unit_id: str
    name: str
    total: Amount
    headcount: int
    per_capita: Amount | None
    leader: str | None
    leader_value: Amount | None
    # Member-days / elapsed days: the headcount per_capita divides by (pro-rated by days).
    average_headcount: Amount | None = None
    leader_name: str | None


class ContestOut(Out):
    metric: str
    period: str
    leader: str | None  # the unit ahead on per-capita value
    entries: list[ContestEntryOut]


class TargetOut(Out):
    value: Amount
    at: datetime  # when it was set (occurred_at)
    event_id: str
    set_by: str | None  # who set it (TargetSet v2; None for older events)
    decomposition_id: str | None  # the split that produced it
    override: bool  # set by an admin over a lock
    # Came after its own scope and period's lock (by occurred_at): recorded, not in force.
    refused_by_lock: bool = False


class LockOut(Out):
    scope: str  # the locked scope: this target's, or one above it
    period: str
    at: datetime
    event_id: str
    set_by: str | None


class TargetHistoryOut(Out):
    scope: str
    metric: str
    period: str
    current: TargetOut | None
    entries: list[TargetOut]  # every TargetSet, oldest first
    locked: bool
    locks: list[LockOut]  # every lock covering this target (projections/locks.py), oldest first


class AllocationOut(Out):
    scope: str
    period: str
    value: Amount
    share: Amount  # of the parent, before pro-rating and rounding
    days: int


class SplitOut(Out):
    decomposition_id: str
    preview: bool
    published: int  # events published by this request
    already_published: int  # events of this decomposition the projections already have
    message: str
    total: Amount
    unallocated: Amount  # what pro-rating left at the parent
    allocations: list[AllocationOut]
    warnings: list[str]
    events: list[dict[str, Any]]  # the children's TargetSet events, JSON form


class FieldErrorOut(Out):
    field: str
    reason: str


class RejectedOut(Out):
    index: int
    event_id: str | None
    errors: list[FieldErrorOut]


class WarningOut(Out):
    index: int
    event_id: str
    field: str
    reason: str


class IngestOut(Out):
    accepted: list[str]
    rejected: list[RejectedOut]
    # Accepted events that look wrong (an unknown order corrected, a duplicate deal 撞单).
    warnings: list[WarningOut] = []


class BroadcastOut(Out):
    seq: int
    broadcast_id: str
    kind: str
    occurred_at: datetime
    payload: dict[str, Any]
    rep_name: str | None
    account_id: str | None  # a deal's customer (from the won opportunity when not in payload)
    cheers: int


class BroadcastsOut(Out):
    broadcasts: list[BroadcastOut]  # newest first


class CheerOut(Out):
    broadcast_id: str
    rep_id: str
    event_id: str
    already_cheered: bool


class VersionOut(Out):
    version: int
    status: str  # active, building or retired
    description: str
    schema_name: str | None
    created_at: datetime | None
    activated_at: datetime | None
    progress: Amount | None  # applied / log end, for a version being built
    lag: int | None  # records in the log not yet applied


class VersionsOut(Out):
    versions: list[VersionOut]


class UnitOut(Out):
    unit_id: str
    name: str
    kind: str
    parent_id: str | None


class RosterRepOut(Out):
    rep_id: str
    name: str
    unit_id: str | None  # today's unit; None once the rep has left


class OrgOut(Out):
    units: list[UnitOut]
    reps: list[RosterRepOut]  # names are public on the sales floor, like the leaderboard
    metrics: list[str]  # the active KPI version's metrics
    money_metrics: list[str]  # those of them that are amounts in the base currency
    currency: str  # the base currency (ISO 4217)


class HealthOut(Out):
    status: Literal["ok", "degraded"]
    mode: Literal["open", "tokens"]
    # Each dependency's last probe (every second): up, down, or unknown before the first.
    dependencies: dict[str, Literal["up", "down", "unknown"]] = {}


class ChannelStatusOut(Out):
    """One chat channel's deliveries (announcement and digest keys) and failures."""

    channel: str
    sent: int
    failed: int
    messages: int
    attempts: int
    last_sent_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None


class NotifyStatusOut(Out):
    channels: list[ChannelStatusOut]
