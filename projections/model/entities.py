"""Orders, payments and opportunities as the set of their facts: credited metric rows from facts.

An entity's metric rows are a function of its facts (sorted by (occurred_at, event_id)), never
of their arrival order: corrections (amend, cancel, reverse, reopen, credit) that arrive before
what they correct give the same rows. Every store recomputes an entity's rows from all its facts
whenever one arrives, and replaces them whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple

from projections.model.context import FoldContext
from projections.model.deltas import CreditRow, FactDelta
from projections.model.fold import metric_evaluators
from schemas.money import minor_unit

EntityKey = tuple[str, str]  # (kind, entity_id)
Shares = tuple[tuple[str, Decimal], ...]
_ZERO = Decimal(0)
_WHOLE = Decimal(1)


class Effective(NamedTuple):
    """What an entity counts as now: the metric event type, its data, its day and its credit."""

    event: str  # the metrics of this event type apply (OrderSigned, PaymentReceived, ...)
    data: Any  # that type's data fields, as the evaluators read them (attributes)
    day: date
    shares: Shares


def _stamp(f: FactDelta) -> tuple[datetime, Any]:
    return (f.at, f.event_id)


def _last(facts: Sequence[FactDelta], types: frozenset[str]) -> FactDelta | None:
    for f in reversed(facts):
        if f.fact in types:
            return f
    return None


_SIGNED = frozenset({"OrderSigned"})
_ORDER_STATUS = frozenset({"OrderSigned", "OrderAmended", "OrderCancelled"})
_ORDER_AMOUNT = frozenset({"OrderSigned", "OrderAmended"})
_CREDIT = frozenset({"CreditAssigned"})
_RECEIVED = frozenset({"PaymentReceived"})
_OUTCOME = frozenset({"OpportunityWon", "OpportunityLost", "OpportunityReopened"})


def _credit(facts: Sequence[FactDelta], default_rep: str) -> Shares:
    credit = _last(facts, _CREDIT)
    return credit.shares if credit is not None and credit.shares else ((default_rep, _WHOLE),)


def _order(entity_id: str, facts: Sequence[FactDelta], ctx: FoldContext) -> Effective | None:
    # Counted once, on the first signing's day and for its rep, at the latest amount; a
    # re-sent OrderSigned is an amendment. Cancelled when the latest status fact says so.
    first = next((f for f in facts if f.fact == "OrderSigned"), None)
    status = _last(facts, _ORDER_STATUS)
    if first is None or status is None or status.fact == "OrderCancelled":
        return None
    latest_signed = _last(facts, _SIGNED) or first
    priced = _last(facts, _ORDER_AMOUNT) or first
    data = SimpleNamespace(
        order_id=entity_id,
        opportunity_id=latest_signed.ref_id,
        account_id=latest_signed.account_id,
        amount=priced.amount,
        currency=priced.currency,
    )
    return Effective("OrderSigned", data, first.day, _credit(facts, first.rep_id))


def _payment(entity_id: str, facts: Sequence[FactDelta], ctx: FoldContext) -> Effective | None:
    # The amount minus what was reversed (never below zero); a reversal without an amount
    # takes the whole payment back.
    first = next((f for f in facts if f.fact == "PaymentReceived"), None)
    if first is None:
        return None
    latest = _last(facts, _RECEIVED) or first
    amount, currency = latest.amount or _ZERO, latest.currency
    reversals = [f for f in facts if f.fact == "PaymentReversed"]
    if any(r.amount is None for r in reversals):
        return None
    if all(r.currency in (None, currency) for r in reversals):
        remaining = amount - sum((r.amount or _ZERO for r in reversals), _ZERO)
    else:  # reversed in another currency: compare in the base currency
        remaining = ctx.to_base(amount, currency) - sum(
            (ctx.to_base(r.amount or _ZERO, r.currency or currency) for r in reversals), _ZERO
        )
        currency = ctx.base_currency
    if remaining <= 0:
        return None
    data = SimpleNamespace(
        payment_id=entity_id, order_id=latest.ref_id, amount=remaining, currency=currency
    )
    return Effective("PaymentReceived", data, first.day, ((first.rep_id, _WHOLE),))


def _opportunity(entity_id: str, facts: Sequence[FactDelta], ctx: FoldContext) -> Effective | None:
    # The latest outcome fact decides: won, lost, or reopened (no outcome metrics at all).
    outcome = _last(facts, _OUTCOME)
    if outcome is None or outcome.fact == "OpportunityReopened":
        return None
    data: Any
    if outcome.fact == "OpportunityWon":
        data = SimpleNamespace(
            opportunity_id=entity_id, amount=outcome.amount, currency=outcome.currency
        )
    else:
        data = SimpleNamespace(opportunity_id=entity_id, reason=outcome.text or "")
    return Effective(outcome.fact, data, outcome.day, _credit(facts, outcome.rep_id))


_EFFECTIVE = {"order": _order, "payment": _payment, "opportunity": _opportunity}


def split(value: Decimal, shares: Shares, is_money: bool, currency: str) -> list[Decimal]:
    """`value` x each share; money in the currency's minor unit, adding up to `value` exactly.

    Each share is rounded down to the unit; the units left over go one each to the largest
    remainders, ties to the earlier share (shares are sorted by rep_id). The unit is the
    currency's minor unit, or finer when `value` itself has more places.
    """
    if len(shares) == 1:
        return [value * shares[0][1]]
    if not is_money:
        return [value * share for _, share in shares]
    places = minor_unit(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        exponent = value.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) else places
    units = value.scaleb(places)
    raw = [units * share for _, share in shares]
    floors = [r.to_integral_value(rounding=ROUND_FLOOR) for r in raw]
    left = int(units - sum(floors, _ZERO))
    by_remainder = sorted(range(len(shares)), key=lambda i: (floors[i] - raw[i], i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [f.scaleb(-places) for f in floors]


def _values(effective: Effective | None, ctx: FoldContext) -> dict[tuple[str, str], Decimal]:
    """(metric, rep_id) -> credited value of one entity in its current effective state."""
    if effective is None:
        return {}
    out: dict[tuple[str, str], Decimal] = {}
    shares = tuple(sorted(effective.shares))
    for metric, evaluate in metric_evaluators(ctx.kpis).get(effective.event, ()):
        value = evaluate(effective.data, ctx)
        if not value:
            continue
        parts = split(value, shares, metric.is_money, ctx.base_currency)
        for (rep_id, _), part in zip(shares, parts, strict=True):
            if part:
                out[(metric.name, rep_id)] = part
    return out


def credits_of(
    key: EntityKey, facts: Iterable[FactDelta], ctx: FoldContext
) -> tuple[CreditRow, ...]:
    """Every metric row the entity adds, under the KPI file's corrections policy."""
    kind, entity_id = key
    effective_of = _EFFECTIVE[kind]
    ordered = sorted(facts, key=_stamp)
    cells: dict[tuple[str, str, date], list[Any]] = {}
    if ctx.kpis.corrections == "clawback":
        # Each fact books the difference it made on its own day: reported days stay as they were.
        before: dict[tuple[str, str], Decimal] = {}
        for i, fact in enumerate(ordered):
            after = _values(effective_of(entity_id, ordered[: i + 1], ctx), ctx)
            for metric, rep_id in before.keys() | after.keys():
                diff = after.get((metric, rep_id), _ZERO) - before.get((metric, rep_id), _ZERO)
                if diff:
                    cell = cells.setdefault((metric, rep_id, fact.day), [_ZERO, fact.at])
                    cell[0] += diff
                    cell[1] = max(cell[1], fact.at)
            before = after
    else:
        effective = effective_of(entity_id, ordered, ctx)
        if effective is not None:
            at = ordered[-1].at
            for (metric, rep_id), value in _values(effective, ctx).items():
                cells[(metric, rep_id, effective.day)] = [value, at]
    return tuple(
        CreditRow(kind, entity_id, metric, rep_id, day, value, at)
        for (metric, rep_id, day), (value, at) in sorted(cells.items())
        if value
    )
