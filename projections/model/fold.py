"""The pure fold: one event and the context in, row deltas out, keyed by event type."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from projections.model.context import FoldContext
from projections.model.deltas import (
    ActivityDelta,
    CheerDelta,
    DealWonCandidate,
    Delta,
    FactDelta,
    MembershipDelta,
    MetricDelta,
    OpportunityDelta,
    OpportunityInfo,
    StageEnteredDelta,
    TargetDelta,
    TargetLockDelta,
    UnitDefinedDelta,
)
from projections.model.kpi import Condition, KpiDefinitions, MetricDef
from schemas.events import (
    AnyEvent,
    Cheered,
    CreditAssigned,
    OpportunityCreated,
    OpportunityLost,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
    OrderAmended,
    OrderCancelled,
    OrderSigned,
    PaymentReceived,
    PaymentReversed,
    RepJoined,
    RepLeft,
    RepTransferred,
    TargetSet,
    TargetsLocked,
    UnitDefined,
)
from schemas.trusted import LogEvent

# What the fold reads: a validated pydantic event (the edges, the oracle) or an event decoded
# from the trusted log (the workers, the replay); both carry the same attributes and values.
FoldEvent = AnyEvent | LogEvent

Handler = Callable[[Any, FoldContext, date], list[Delta]]
# Metrics of these types are not added per event: they follow the entity's facts (orders,
# payments, deal outcomes), which corrections change (projections.model.entities).
ENTITY_METRIC_EVENTS = frozenset(
    {"OrderSigned", "PaymentReceived", "OpportunityWon", "OpportunityLost"}
)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def fold(event: FoldEvent, ctx: FoldContext) -> list[Delta]:
    """Every row delta one event implies under the context's KPI definitions.

    Aggregate.fold_in is this fold merged straight into keyed rows (the replay's hot path);
    tests/unit/test_fold_in.py keeps the two equal.
    """
    day = local_day(event, ctx)
    kind = event.type
    deltas = EVENT_HANDLERS[kind](event, ctx, day)
    for name, evaluate in compiled(ctx.kpis).get(kind, ()):
        value = evaluate(event.data, ctx)
        # A zero adds nothing but would move "when the value was reached" later.
        if value:
            deltas.append(MetricDelta(name, event.rep_id or "", day, value, event.occurred_at))
    return deltas


def local_day(event: FoldEvent, ctx: FoldContext) -> date:
    """The org-local day of the event: every bucket follows occurred_at."""
    return event.occurred_at.astimezone(ctx.tz).date()


_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNSEEN: Any = object()  # an hour not looked at yet (None: looked at, not kept)


class LocalDays:
    """local_day of an instant in microseconds since the epoch, at a dict look-up's cost: the
    org-local date of each UTC hour, kept when it is one date all through the hour.

    An hour holding a local midnight, or a change of the zone's offset, is not kept: its
    instants are converted one by one. (That an offset is the same at both ends of an hour
    means it did not change inside it: no zone changes its offset twice within an hour.) One
    entry per hour of the log's span: 8,760 a year, whatever the number of events."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.hours: dict[int, date | None] = {}

    def __call__(self, us: int) -> date:
        hour = us // _HOUR_US
        day = self.hours.get(hour, _UNSEEN)
        if day is _UNSEEN:
            day = self.hours[hour] = self._whole_hour(hour)
        return day if day is not None else _utc(us).astimezone(self.tz).date()

    def _whole_hour(self, hour: int) -> date | None:
        first = _utc(hour * _HOUR_US).astimezone(self.tz)
        last = _utc((hour + 1) * _HOUR_US - 1).astimezone(self.tz)
        if first.date() != last.date() or first.utcoffset() != last.utcoffset():
            return None
        return first.date()


def _utc(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def measure(metric: MetricDef, event: FoldEvent, ctx: FoldContext) -> Decimal | None:
    """What the event contributes to the metric (None if its conditions do not hold)."""
    return _evaluator(metric)(event.data, ctx)


Evaluator = Callable[[Any, FoldContext], Decimal | None]


@functools.lru_cache(maxsize=16)
def compiled(kpis: KpiDefinitions) -> dict[str, tuple[tuple[str, Evaluator], ...]]:
    """Per event type, each per-event metric's evaluator: built once per KPI version.

    Entity metric event types are left out: the fold adds nothing per event for them.
    """
    return {
        event: tuple((m.name, _evaluator(m)) for m in metrics)
        for event, metrics in kpis.by_event.items()
        if event not in ENTITY_METRIC_EVENTS
    }


@functools.lru_cache(maxsize=16)
def metric_evaluators(kpis: KpiDefinitions) -> dict[str, tuple[tuple[MetricDef, Evaluator], ...]]:
    """Per event type, each metric with its evaluator (the entities' credits use these)."""
    return {
        event: tuple((m, _evaluator(m)) for m in metrics)
        for event, metrics in kpis.by_event.items()
    }


def _test(c: Condition) -> Callable[[Any], bool]:
    get, op, value = operator.attrgetter(c.field), _COMPARE[c.op], c.value
    if c.op in ("=", "==", "!="):
        return lambda data: op(get(data), value)
    # Ordered comparisons with a missing (None) optional field are false, not an error.
    return lambda data: (v := get(data)) is not None and op(v, value)


def _evaluator(metric: MetricDef) -> Evaluator:
    tests = tuple(_test(c) for c in metric.where)
    weights = tuple((_test(w.condition), w.factor) for w in metric.weights)
    get = operator.attrgetter(metric.field) if metric.field else None
    is_money = metric.is_money
    if get is None and not weights:
        # A plain count (calls, leads, wins ...), the commonest metric: no value to read.
        if not tests:
            return lambda data, ctx: _ONE
        if len(tests) == 1:
            test = tests[0]
            return lambda data, ctx: _ONE if test(data) else None

    def evaluate(data: Any, ctx: FoldContext) -> Decimal | None:
        for test in tests:
            if not test(data):
                return None
        if get is None:
            value = _ONE
        else:
            raw = get(data)
            if raw is None:
                return None
            value = ctx.to_base(raw, data.currency) if is_money else Decimal(raw)
        for test, factor in weights:
            if test(data):
                value *= factor
        return value

    return evaluate


def _activity(e: FoldEvent, day: date, kind: str, sub: str, amount: Decimal = _ZERO) -> Delta:
    return ActivityDelta(e.rep_id or "", day, kind, sub, 1, amount)


def _unit_defined(e: UnitDefined, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    return [UnitDefinedDelta(d.unit_id, d.name, d.kind, d.parent_id, e.occurred_at, e.event_id)]


def _rep_joined(e: RepJoined, ctx: FoldContext, day: date) -> list[Delta]:
    return [MembershipDelta(e.rep_id, e.event_id, e.occurred_at, day, e.data.unit_id, e.data.name)]


def _rep_transferred(e: RepTransferred, ctx: FoldContext, day: date) -> list[Delta]:
    return [MembershipDelta(e.rep_id, e.event_id, e.occurred_at, day, e.data.unit_id, None)]


def _rep_left(e: RepLeft, ctx: FoldContext, day: date) -> list[Delta]:
    # The leaving day still counts for the old unit: the rep worked that day.
    after = day + timedelta(days=1)
    return [MembershipDelta(e.rep_id, e.event_id, e.occurred_at, after, None, None)]


def _target_set(e: TargetSet, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    return [
        TargetDelta(
            d.scope,
            d.metric,
            d.period,
            d.value,
            e.occurred_at,
            e.event_id,
            d.decomposition_id,
            d.set_by,
            d.override,
        )
    ]


def _targets_locked(e: TargetsLocked, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    return [TargetLockDelta(d.scope, d.period, e.occurred_at, e.event_id, d.set_by)]


def _opportunity_created(e: OpportunityCreated, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    amount = ctx.to_base(d.amount, d.currency)
    info = OpportunityInfo(d.account_id, d.product_line, d.expected_close, at, e.rep_id)
    return [
        OpportunityDelta(d.opportunity_id, e.event_id, at, e.rep_id, info, d.stage, amount),
        StageEnteredDelta(d.opportunity_id, e.event_id, d.stage, at),
        _activity(e, day, "opportunity", d.stage, amount),
    ]


def _stage_changed(e: OpportunityStageChanged, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    amount = None if d.amount is None else ctx.to_base(d.amount, d.currency)
    return [
        OpportunityDelta(
            d.opportunity_id, e.event_id, at, e.rep_id, stage=d.to_stage, amount=amount
        ),
        StageEnteredDelta(d.opportunity_id, e.event_id, d.to_stage, at),
        _activity(e, day, "stage", d.to_stage),
    ]


def _opportunity_won(e: OpportunityWon, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    amount = ctx.to_base(d.amount, d.currency)
    won = DealWonCandidate(
        e.event_id, "OpportunityWon", e.rep_id, amount, None, d.opportunity_id, None, at, day
    )
    fact = FactDelta(
        "opportunity", d.opportunity_id, e.event_id, at, day, e.type, e.rep_id, d.amount, d.currency
    )
    return [
        OpportunityDelta(d.opportunity_id, e.event_id, at, e.rep_id, amount=amount, outcome="won"),
        StageEnteredDelta(d.opportunity_id, e.event_id, "won", at),
        _activity(e, day, "win", "", amount),
        won,
        fact,
    ]


def _opportunity_lost(e: OpportunityLost, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    return [
        OpportunityDelta(
            d.opportunity_id, e.event_id, at, e.rep_id, outcome="lost", reason=d.reason
        ),
        StageEnteredDelta(d.opportunity_id, e.event_id, "lost", at),
        _activity(e, day, "loss", d.reason),
        FactDelta(
            "opportunity", d.opportunity_id, e.event_id, at, day, e.type, e.rep_id, text=d.reason
        ),
    ]


def _order_signed(e: OrderSigned, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    amount = ctx.to_base(d.amount, d.currency)
    won = DealWonCandidate(
        e.event_id,
        "OrderSigned",
        e.rep_id,
        amount,
        d.account_id,
        d.opportunity_id,
        d.order_id,
        e.occurred_at,
        day,
    )
    fact = FactDelta(
        "order",
        d.order_id,
        e.event_id,
        e.occurred_at,
        day,
        e.type,
        e.rep_id,
        d.amount,
        d.currency,
        d.account_id,
        d.opportunity_id,
    )
    return [_activity(e, day, "order", "", amount), won, fact]


def _payment_received(e: PaymentReceived, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    fact = FactDelta(
        "payment", d.payment_id, e.event_id, e.occurred_at, day, e.type, e.rep_id,
        d.amount, d.currency, ref_id=d.order_id,
    )  # fmt: skip
    return [_activity(e, day, "payment", "", ctx.to_base(d.amount, d.currency)), fact]


def _order_amended(e: OrderAmended, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    amount = ctx.to_base(d.amount, d.currency)  # a currency without a rate fails here, once
    fact = FactDelta(
        "order", d.order_id, e.event_id, e.occurred_at, day, e.type, e.rep_id,
        d.amount, d.currency, text=d.reason,
    )  # fmt: skip
    return [_activity(e, day, "amendment", d.reason, amount), fact]


def _order_cancelled(e: OrderCancelled, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    fact = FactDelta(
        "order", d.order_id, e.event_id, e.occurred_at, day, e.type, e.rep_id, text=d.reason
    )
    return [_activity(e, day, "cancellation", d.reason), fact]


def _payment_reversed(e: PaymentReversed, ctx: FoldContext, day: date) -> list[Delta]:
    d = e.data
    # The daily log's amount; None currency means the payment's own, unknown here: 0 then
    # (the payment's metric is computed from its facts, with the right currency).
    known = d.amount is not None and d.currency is not None
    amount = ctx.to_base(d.amount, d.currency) if known else _ZERO  # type: ignore[arg-type]
    fact = FactDelta(
        "payment", d.payment_id, e.event_id, e.occurred_at, day, e.type, e.rep_id,
        d.amount, d.currency, text=d.reason,
    )  # fmt: skip
    return [_activity(e, day, "reversal", d.reason, amount), fact]


def _opportunity_reopened(e: OpportunityReopened, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    return [
        # rep_id None: reopening does not hand the deal to whoever reopened it.
        OpportunityDelta(
            d.opportunity_id, e.event_id, at, None, stage=d.to_stage, outcome="reopened"
        ),
        StageEnteredDelta(d.opportunity_id, e.event_id, d.to_stage, at),
        _activity(e, day, "reopen", d.to_stage),
        FactDelta(
            "opportunity", d.opportunity_id, e.event_id, at, day, e.type, e.rep_id, text=d.to_stage
        ),
    ]


def _credit_assigned(e: CreditAssigned, ctx: FoldContext, day: date) -> list[Delta]:
    d, at = e.data, e.occurred_at
    shares = tuple(sorted((s.rep_id, s.share) for s in d.shares))
    deltas: list[Delta] = [_activity(e, day, "credit", "")]
    if d.order_id is not None:
        deltas.append(
            FactDelta("order", d.order_id, e.event_id, at, day, e.type, e.rep_id, shares=shares)
        )
    if d.opportunity_id is not None:
        # The deal's owner becomes its largest share (ties: the smaller rep_id).
        owner = min(shares, key=lambda s: (-s[1], s[0]))[0]
        deltas.append(OpportunityDelta(d.opportunity_id, e.event_id, at, owner))
        deltas.append(
            FactDelta(
                "opportunity",
                d.opportunity_id,
                e.event_id,
                at,
                day,
                e.type,
                e.rep_id,
                shares=shares,
            )
        )
    return deltas


# Event types whose only row effect is one activity count: its kind, and the data field that
# names its subkind. They are most of a log (83 % of the bench history), so Aggregate.fold_in
# merges them without building a delta; their fold handlers are made from this table too.
ACTIVITY_ONLY: dict[str, tuple[str, str]] = {
    "LeadCreated": ("lead", "source"),
    "LeadQualified": ("qualification", "level"),
    "CallLogged": ("call", "outcome"),
    "VisitCompleted": ("visit", "visit_type"),
}


def _activity_only(kind: str, field: str) -> Handler:
    subkind = operator.attrgetter(field)

    def handler(e: FoldEvent, ctx: FoldContext, day: date) -> list[Delta]:
        return [_activity(e, day, kind, subkind(e.data))]

    return handler


def _cheered(e: Cheered, ctx: FoldContext, day: date) -> list[Delta]:
    return [CheerDelta(e.data.broadcast_id, e.rep_id, e.event_id, e.occurred_at)]


# The whole flow from event type to read-model rows, in one glance.
EVENT_HANDLERS: dict[str, Handler] = {
    "UnitDefined": _unit_defined,
    "RepJoined": _rep_joined,
    "RepTransferred": _rep_transferred,
    "RepLeft": _rep_left,
    "TargetSet": _target_set,
    "TargetsLocked": _targets_locked,
    "OpportunityCreated": _opportunity_created,
    "OpportunityStageChanged": _stage_changed,
    "OpportunityWon": _opportunity_won,
    "OpportunityLost": _opportunity_lost,
    "OrderSigned": _order_signed,
    "PaymentReceived": _payment_received,
    "Cheered": _cheered,
    "OrderAmended": _order_amended,
    "OrderCancelled": _order_cancelled,
    "PaymentReversed": _payment_reversed,
    "OpportunityReopened": _opportunity_reopened,
    "CreditAssigned": _credit_assigned,
    **{t: _activity_only(kind, field) for t, (kind, field) in ACTIVITY_ONLY.items()},
}
