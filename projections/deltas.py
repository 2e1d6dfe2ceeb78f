"""Row deltas: the small frozen facts the fold derives from one event, applied by every store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

Outcome = Literal["won", "lost"]


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """Add `value` to a metric of a rep on an org-local day; `at` feeds max(at) = when reached."""

    metric: str
    rep_id: str
    day: date
    value: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class ActivityDelta:
    """A KPI-independent activity count (and base-currency amount) for the daily report."""

    rep_id: str
    day: date
    kind: str  # call, visit, lead, qualification, opportunity, stage, win, loss, order, payment
    subkind: str  # call outcome, visit type, lead source, level, stage, loss reason or ""
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class UnitDefinedDelta:
    """A unit's definition; the latest by (at, event_id) wins."""

    unit_id: str
    name: str
    kind: str
    parent_id: str | None
    at: datetime
    event_id: UUID


@dataclass(frozen=True, slots=True)
class MembershipDelta:
    """A membership change effective from org-local `day`; unit_id None means the rep left."""

    rep_id: str
    event_id: UUID
    at: datetime
    day: date
    unit_id: str | None
    name: str | None  # set by RepJoined only


@dataclass(frozen=True, slots=True)
class TargetDelta:
    """A TargetSet: the latest by (at, event_id) is the target; every one is history."""

    scope: str
    metric: str
    period: str
    value: Decimal
    at: datetime
    event_id: UUID


@dataclass(frozen=True, slots=True)
class TargetLockDelta:
    """A TargetsLocked; the earliest lock by (at, event_id) is kept."""

    scope: str
    period: str
    at: datetime
    event_id: UUID


@dataclass(frozen=True, slots=True)
class OpportunityInfo:
    """What OpportunityCreated says about a deal besides its stage and amount."""

    account_id: str
    product_line: str
    expected_close: date
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OpportunityDelta:
    """Field groups of a deal's current state, each last-writer-wins on (at, event_id).

    A None group is not touched by this event. The owner (rep_id) follows the latest event.
    """

    opportunity_id: str
    event_id: UUID
    at: datetime
    rep_id: str
    info: OpportunityInfo | None = None
    stage: str | None = None  # open stages only; won/lost go to `outcome`
    amount: Decimal | None = None
    outcome: Outcome | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StageEnteredDelta:
    """A row of a deal's stage history (stage may be won or lost), for time-in-stage and stalls."""

    opportunity_id: str
    event_id: UUID
    stage: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DealWonCandidate:
    """A won deal or signed order to announce; broadcast id = the source event_id."""

    event_id: UUID
    source: Literal["OpportunityWon", "OrderSigned"]
    rep_id: str
    amount: Decimal
    account_id: str | None
    opportunity_id: str | None
    order_id: str | None
    at: datetime
    day: date


@dataclass(frozen=True, slots=True)
class CheerDelta:
    """One cheer per rep per broadcast (repeats are no-ops); the first (at) is kept."""

    broadcast_id: str
    rep_id: str
    event_id: UUID
    at: datetime


Delta = (
    MetricDelta
    | ActivityDelta
    | UnitDefinedDelta
    | MembershipDelta
    | TargetDelta
    | TargetLockDelta
    | OpportunityDelta
    | StageEnteredDelta
    | DealWonCandidate
    | CheerDelta
)
