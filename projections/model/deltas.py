"""Row deltas: the small immutable facts the fold derives from one event, applied by every store."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple
from uuid import UUID

# NamedTuples rather than frozen dataclasses: as immutable, and built ~5x faster, which matters
# at tens of thousands of events per second. Fields of most are in their table's column order
# (projections/postgres/migrations), so the store writes them as they are.

Outcome = Literal["won", "lost"]
# What an OpportunityDelta may set: "reopened" clears the outcome (the deal is open again).
OutcomeChange = Literal["won", "lost", "reopened"]


class MetricDelta(NamedTuple):
    """Add `value` to a metric of a rep on an org-local day; `at` feeds max(at) = when reached."""

    metric: str
    rep_id: str
    day: date
    value: Decimal
    at: datetime


class ActivityDelta(NamedTuple):
    """A KPI-independent activity count (and base-currency amount) for the daily report."""

    rep_id: str
    day: date
    kind: str  # call, visit, lead, qualification, opportunity, stage, win, loss, order, payment
    subkind: str  # call outcome, visit type, lead source, level, stage, loss reason or ""
    quantity: int
    amount: Decimal


class UnitDefinedDelta(NamedTuple):
    """A unit's definition; the latest by (at, event_id) wins."""

    unit_id: str
    name: str
    kind: str
    parent_id: str | None
    at: datetime
    event_id: UUID


class MembershipDelta(NamedTuple):
    """A membership change effective from org-local `day`; unit_id None means the rep left."""

    rep_id: str
    event_id: UUID
    at: datetime
    day: date
    unit_id: str | None
    name: str | None  # set by RepJoined only


class TargetDelta(NamedTuple):
    """A TargetSet: the latest by (at, event_id) is the target; every one is history."""

    scope: str
    metric: str
    period: str
    value: Decimal
    at: datetime
    event_id: UUID
    decomposition_id: UUID | None = None  # the split that produced it
    set_by: str | None = None
    override: bool = False  # set by an admin over a lock


class TargetLockDelta(NamedTuple):
    """A TargetsLocked; the earliest lock by (at, event_id) is kept."""

    scope: str
    period: str
    at: datetime
    event_id: UUID
    set_by: str | None = None


class OpportunityInfo(NamedTuple):
    """What OpportunityCreated says about a deal besides its stage and amount."""

    account_id: str
    product_line: str
    expected_close: date
    created_at: datetime
    created_by: str | None = None  # the rep who created it (whose deal a duplicate collides with)


class OpportunityDelta(NamedTuple):
    """Field groups of a deal's current state, each last-writer-wins on (at, event_id).

    A None group is not touched by this event. The owner (rep_id) follows the latest event
    that names one (a reopening does not move the deal to whoever reopened it).
    """

    opportunity_id: str
    event_id: UUID
    at: datetime
    rep_id: str | None
    info: OpportunityInfo | None = None
    stage: str | None = None  # open stages only; won/lost go to `outcome`
    amount: Decimal | None = None
    outcome: OutcomeChange | None = None
    reason: str | None = None


class StageEnteredDelta(NamedTuple):
    """A row of a deal's stage history (stage may be won or lost), for time-in-stage and stalls."""

    opportunity_id: str
    event_id: UUID
    stage: str
    at: datetime


class DealWonCandidate(NamedTuple):
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


class CheerDelta(NamedTuple):
    """One cheer per rep per broadcast (repeats are no-ops); the first (at) is kept."""

    broadcast_id: str
    rep_id: str
    event_id: UUID
    at: datetime


class FactDelta(NamedTuple):
    """One fact about an order, payment or opportunity; the entity is the set of its facts.

    Metrics of orders, payments and outcomes are computed from all of an entity's facts
    (projections.model.entities), so corrections arriving in any order give the same numbers.
    Fields are in the entity_facts table's column order; amounts are as written (currency).
    """

    kind: str  # order, payment, opportunity
    entity_id: str
    event_id: UUID
    at: datetime
    day: date  # org-local day of `at`
    fact: str  # the event type
    rep_id: str
    amount: Decimal | None = None
    currency: str | None = None
    account_id: str | None = None
    ref_id: str | None = None  # an order's opportunity_id, a payment's order_id
    text: str | None = None  # a reason, or the stage a deal is reopened at
    shares: tuple[tuple[str, Decimal], ...] | None = None  # CreditAssigned: (rep_id, share)


class CreditRow(NamedTuple):
    """What one entity adds to a metric cell (rep, day): derived from its facts, replaced whole."""

    kind: str
    entity_id: str
    metric: str
    rep_id: str
    day: date
    value: Decimal
    at: datetime  # the latest fact time that moved this cell: the leaderboard's reached_at


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
    | FactDelta
)
