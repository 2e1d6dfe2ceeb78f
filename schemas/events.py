"""The domain events: pydantic models of the JSON form (DESIGN.md Part B), one class per type.

An event is an envelope (`event_id`, `type`, `occurred_at`, `rep_id`, log metadata) with a
typed `data` payload. `parse_event` turns a JSON-like dict into the right class and raises
`pydantic.ValidationError` whose `loc` names the field (e.g. ``('data', 'amount')``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from schemas.money import Currency, Money
from schemas.periods import parse_period, parse_scope

UnitKind = Literal["company", "department", "team"]
Stage = Literal["prospecting", "qualification", "proposal", "negotiation"]
LeadLevel = Literal["MQL", "SQL"]
CallOutcome = Literal["connected", "no_answer", "voicemail"]
VisitType = Literal[
    "planned",
    "route",
    "distribution",
    "assisted",
    "proof_of_work",
    "activity_check",
    "inspection",
    "ad_hoc",
]
Id = Annotated[str, Field(min_length=1, max_length=200)]

# Default pipeline stages in order, with their default win probabilities (configurable in
# the KPI definitions file); won and lost are terminal and carried by their own events.
DEFAULT_STAGES: tuple[tuple[str, Decimal], ...] = (
    ("prospecting", Decimal("0.10")),
    ("qualification", Decimal("0.25")),
    ("proposal", Decimal("0.50")),
    ("negotiation", Decimal("0.75")),
)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitDefinedData(_Data):
    unit_id: Id
    name: str
    kind: UnitKind
    parent_id: Id | None = None

    @model_validator(mode="after")
    def _company_has_no_parent(self) -> UnitDefinedData:
        if (self.kind == "company") != (self.parent_id is None):
            raise ValueError("parent_id must be null exactly when kind is 'company'")
        return self


class RepJoinedData(_Data):
    name: str
    unit_id: Id


class RepTransferredData(_Data):
    unit_id: Id


class RepLeftData(_Data):
    pass


class _ScopedPeriod(_Data):
    scope: str
    period: str

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str) -> str:
        parse_scope(v)
        return v

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_period(v)
        return v


class TargetSetData(_ScopedPeriod):
    metric: Id
    value: Money
    # Since TargetSet v2: the split that produced it, who set it, and whether an admin set it
    # over a TargetsLocked lock (the edge refuses a locked target without it).
    decomposition_id: UUID | None = None
    set_by: Annotated[str, Field(max_length=200)] | None = None
    override: bool = False


class TargetsLockedData(_ScopedPeriod):
    set_by: Annotated[str, Field(max_length=200)] | None = None  # since TargetsLocked v2


class LeadCreatedData(_Data):
    lead_id: Id
    source: str


class LeadQualifiedData(_Data):
    lead_id: Id
    level: LeadLevel


class OpportunityCreatedData(_Data):
    opportunity_id: Id
    account_id: Id
    amount: Money
    currency: Currency
    product_line: str
    stage: Stage
    expected_close: date


class OpportunityStageChangedData(_Data):
    opportunity_id: Id
    to_stage: Stage
    amount: Money | None = None  # a revision of the deal size, in `currency`
    currency: Currency | None = None  # None: the base currency


class OpportunityWonData(_Data):
    opportunity_id: Id
    amount: Money
    currency: Currency | None = None  # None: the base currency


class OpportunityLostData(_Data):
    opportunity_id: Id
    reason: str


class OrderSignedData(_Data):
    order_id: Id
    opportunity_id: Id | None = None
    account_id: Id
    amount: Money
    currency: Currency


class PaymentReceivedData(_Data):
    payment_id: Id
    order_id: Id
    amount: Money
    currency: Currency


class CallLoggedData(_Data):
    call_id: Id
    account_id: Id
    duration_s: Annotated[int, Field(ge=0)]
    outcome: CallOutcome


class VisitCompletedData(_Data):
    visit_id: Id
    account_id: Id
    visit_type: VisitType
    duration_min: Annotated[int, Field(ge=0)]
    face_to_face: bool
    key_account: bool
    opportunity_id: Id | None = None  # since VisitCompleted v2: the deal the visit worked on


class CheeredData(_Data):
    broadcast_id: Id


# -- corrections: the log is never edited, a correction is an event of its own ----------------


class OrderAmendedData(_Data):
    order_id: Id
    amount: Money  # the order's amount from now on
    currency: Currency
    reason: str


class OrderCancelledData(_Data):
    order_id: Id
    reason: str


class PaymentReversedData(_Data):
    payment_id: Id
    amount: Money | None = None  # None: the whole payment
    currency: Currency | None = None  # None: the payment's own currency
    reason: str


class OpportunityReopenedData(_Data):
    opportunity_id: Id
    to_stage: Stage
    reason: str


class CreditShare(_Data):
    rep_id: Id
    share: Money  # a fraction in (0, 1]

    @field_validator("share")
    @classmethod
    def _fraction(cls, v: Decimal) -> Decimal:
        if not 0 < v <= 1:
            raise ValueError("must be more than 0 and at most 1")
        return v


class CreditAssignedData(_Data):
    order_id: Id | None = None
    opportunity_id: Id | None = None
    shares: tuple[CreditShare, ...]

    @field_validator("shares")
    @classmethod
    def _whole(cls, v: tuple[CreditShare, ...]) -> tuple[CreditShare, ...]:
        if not v:
            raise ValueError("must name at least one rep")
        reps = [s.rep_id for s in v]
        if len(set(reps)) != len(reps):
            raise ValueError("name a rep more than once")
        total = sum((s.share for s in v), Decimal(0))
        if total != 1:
            raise ValueError(f"must sum to 1, they sum to {total.normalize()}")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> CreditAssignedData:
        if (self.order_id is None) == (self.opportunity_id is None):
            raise ValueError("name exactly one of order_id and opportunity_id")
        return self


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID
    occurred_at: AwareDatetime
    rep_id: Id | None = None
    # Log metadata, filled in by the producer when absent.
    recorded_at: AwareDatetime | None = None
    source: str | None = None

    if TYPE_CHECKING:
        # Every concrete event narrows these two; declared here (for type checkers only, so
        # pydantic does not see them) so that code typed against AnyEvent can read them.
        type: str
        data: _Data

    @field_validator("occurred_at", "recorded_at", mode="before")
    @classmethod
    def _rfc3339(cls, v: Any) -> Any:
        # RFC 3339 requires a full date-time with an offset; reject bare dates and epochs.
        if isinstance(v, str) and ("T" not in v.upper() or len(v) < 19):
            raise ValueError("must be an RFC 3339 date-time with an offset")
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError("must be an RFC 3339 date-time string, not a number")
        return v


class _RepEvent(_Envelope):
    rep_id: Id


class UnitDefined(_Envelope):
    type: Literal["UnitDefined"]
    data: UnitDefinedData


class RepJoined(_RepEvent):
    type: Literal["RepJoined"]
    data: RepJoinedData


class RepTransferred(_RepEvent):
    type: Literal["RepTransferred"]
    data: RepTransferredData


class RepLeft(_RepEvent):
    type: Literal["RepLeft"]
    data: RepLeftData = RepLeftData()


class TargetSet(_Envelope):
    type: Literal["TargetSet"]
    data: TargetSetData


class TargetsLocked(_Envelope):
    type: Literal["TargetsLocked"]
    data: TargetsLockedData


class LeadCreated(_RepEvent):
    type: Literal["LeadCreated"]
    data: LeadCreatedData


class LeadQualified(_RepEvent):
    type: Literal["LeadQualified"]
    data: LeadQualifiedData


class OpportunityCreated(_RepEvent):
    type: Literal["OpportunityCreated"]
    data: OpportunityCreatedData


class OpportunityStageChanged(_RepEvent):
    type: Literal["OpportunityStageChanged"]
    data: OpportunityStageChangedData


class OpportunityWon(_RepEvent):
    type: Literal["OpportunityWon"]
    data: OpportunityWonData


class OpportunityLost(_RepEvent):
    type: Literal["OpportunityLost"]
    data: OpportunityLostData


class OrderSigned(_RepEvent):
    type: Literal["OrderSigned"]
    data: OrderSignedData


class PaymentReceived(_RepEvent):
    type: Literal["PaymentReceived"]
    data: PaymentReceivedData


class CallLogged(_RepEvent):
    type: Literal["CallLogged"]
    data: CallLoggedData


class VisitCompleted(_RepEvent):
    type: Literal["VisitCompleted"]
    data: VisitCompletedData


class Cheered(_RepEvent):
    type: Literal["Cheered"]
    data: CheeredData


class OrderAmended(_RepEvent):
    type: Literal["OrderAmended"]
    data: OrderAmendedData


class OrderCancelled(_RepEvent):
    type: Literal["OrderCancelled"]
    data: OrderCancelledData


class PaymentReversed(_RepEvent):
    type: Literal["PaymentReversed"]
    data: PaymentReversedData


class OpportunityReopened(_RepEvent):
    type: Literal["OpportunityReopened"]
    data: OpportunityReopenedData


class CreditAssigned(_RepEvent):
    type: Literal["CreditAssigned"]
    data: CreditAssignedData


Event = Annotated[
    UnitDefined
    | RepJoined
    | RepTransferred
    | RepLeft
    | TargetSet
    | TargetsLocked
    | LeadCreated
    | LeadQualified
    | OpportunityCreated
    | OpportunityStageChanged
    | OpportunityWon
    | OpportunityLost
    | OrderSigned
    | PaymentReceived
    | CallLogged
    | VisitCompleted
    | Cheered
    | OrderAmended
    | OrderCancelled
    | PaymentReversed
    | OpportunityReopened
    | CreditAssigned,
    Field(discriminator="type"),
]

EVENT_CLASSES: dict[str, type[_Envelope]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls
    for cls in Event.__origin__.__args__  # type: ignore[attr-defined]
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CLASSES)

_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)

AnyEvent = _Envelope  # the common base; every event class has `type` and `data`


def parse_event(obj: Any) -> AnyEvent:
    """Validate the JSON form of one event; raises pydantic.ValidationError naming the field."""
    result: AnyEvent = _EVENT_ADAPTER.validate_python(obj)
    return result


def occurred_day(event: AnyEvent, tz: Any) -> date:
    """The organisation-local calendar day an event belongs to (buckets follow occurred_at)."""
    occurred: datetime = event.occurred_at
    return occurred.astimezone(tz).date()
