"""Corrections worked by hand: amend, re-send, cancel, refund, reopen, split, reassign, policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.context import FoldContext
from projections.model.entities import split
from projections.model.kpi import default_kpis, parse_kpis
from projections.model.readmodel import RepSpan
from projections.queries.leaderboard import contest, leaderboard
from schemas.events import AnyEvent, parse_event
from tests.support.builders import Events

CTX = FoldContext(default_kpis())
NOV = (date(2026, 11, 1), date(2026, 12, 1))
DEC = (date(2026, 12, 1), date(2027, 1, 1))
AS_OF = datetime(2027, 1, 1, tzinfo=UTC)


def org(e: Events) -> list[AnyEvent]:
    return [
        e.unit("c", "company", None),
        e.unit("t1", "team", "c"),
        e.unit("t2", "team", "c"),
        e.join("r1", "t1"),
        e.join("r2", "t2"),
    ]


def totals(
    p: InMemoryProjection, rep: str, days: tuple[date, date] = NOV, metrics: Any = None
) -> dict[str, Decimal]:
    names = metrics or ["revenue", "orders", "payments", "wins", "won_amount"]
    found = p.metric_totals(names, [RepSpan(rep, *days)])
    return {m: found[(m, rep)].value for m in names if (m, rep) in found}


def test_an_amended_order_counts_its_new_amount_once() -> None:
    # Given an order of 100,000, when it is amended to 10,000,
    # then revenue is 10,000 and it is still one order.
    e = Events()
    history = [*org(e), e.order("r1", "2026-11-10", "100000", order_id="o-1")]
    history.append(e.amend("r1", "2026-11-12", "o-1", "10000"))
    assert totals(build_oracle(history, CTX), "r1") == {"revenue": 10000, "orders": 1}


def test_an_order_signed_again_under_a_new_event_id_is_an_amendment() -> None:
    # The issue's own example: 100,000, then the same order_id re-sent with 10,000 gave 110,000.
    e = Events()
    history = [*org(e), e.order("r1", "2026-11-10", "100000", order_id="o-1")]
    history.append(e.order("r1", "2026-11-11", "10000", order_id="o-1"))
    projection = build_oracle(history, CTX)
    assert totals(projection, "r1") == {"revenue": 10000, "orders": 1}
    # Counted on the first signing's day.
    days = projection.metric_days(["revenue"], [RepSpan("r1", *NOV)])
    assert [(d.day, d.value) for d in days] == [(date(2026, 11, 10), 10000)]


def test_a_cancelled_order_counts_zero() -> None:
    e = Events()
    history = [*org(e), e.order("r1", "2026-11-10", "100000", order_id="o-1")]
    history.append(e.cancel("r1", "2026-11-20", "o-1"))
    assert totals(build_oracle(history, CTX), "r1") == {}


def test_a_partly_refunded_payment_counts_what_is_left_and_a_bounced_one_nothing() -> None:
    e = Events()
    history = [*org(e), e.payment("r1", "2026-11-10", "1000.00", payment_id="p-1")]
    history.append(e.reverse("r1", "2026-11-15", "p-1", "300.00"))
    history.append(e.payment("r1", "2026-11-11", "500.00", payment_id="p-2"))
    history.append(e.reverse("r1", "2026-11-16", "p-2"))  # no amount: the whole payment
    assert totals(build_oracle(history, CTX), "r1") == {"payments": Decimal("700.00")}


def test_a_reopened_won_deal_is_no_longer_a_win_and_its_stage_is_back() -> None:
    e = Events()
    history = [*org(e), e.created("r1", "2026-11-01", "d-1", "5000", stage="negotiation")]
    history += [e.won("r1", "2026-11-10", "d-1", "5000"), e.won("r1", "2026-11-11", "d-2", "700")]
    projection = build_oracle(history, CTX)
    assert totals(projection, "r1") == {"wins": 2, "won_amount": 5700}

    projection.apply_event(e.reopen("r2", "2026-11-20", "d-1", to="proposal"))

    assert totals(projection, "r1") == {"wins": 1, "won_amount": 700}
    deal = next(o for o in projection.opportunities() if o.opportunity_id == "d-1")
    assert (deal.outcome, deal.stage, deal.closed_at, deal.rep_id) == (None, "proposal", None, "r1")


def test_a_split_of_100000_01_fifty_fifty_gives_the_odd_cent_to_the_smaller_rep_id() -> None:
    e = Events()
    history = [*org(e), e.order("r2", "2026-11-10", "100000.01", order_id="o-1")]
    history.append(e.credit("r2", "2026-11-10", {"r2": "0.5", "r1": "0.5"}, order_id="o-1"))
    projection = build_oracle(history, CTX)
    assert totals(projection, "r1") == {"revenue": Decimal("50000.01"), "orders": Decimal("0.5")}
    assert totals(projection, "r2") == {"revenue": Decimal("50000.00"), "orders": Decimal("0.5")}


def test_shares_of_money_always_add_up_to_the_amount() -> None:
    thirds = (("a", Decimal("0.3333")), ("b", Decimal("0.3333")), ("c", Decimal("0.3334")))
    assert split(Decimal("100.00"), thirds, True, "USD") == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert split(Decimal("1"), thirds[:1] + thirds[1:], True, "JPY") == [0, 0, 1]
    # An amount finer than the minor unit (FX-converted) is split at its own precision.
    assert sum(split(Decimal("10.0001"), thirds, True, "USD")) == Decimal("10.0001")


def test_a_deal_reassigned_mid_month_counts_for_the_new_reps_unit_on_the_orders_day() -> None:
    # Given r1 (t1) signed on the 10th, and r2 moved from t1 to t2 on the 15th; when the order
    # is reassigned to r2 on the 20th, then it counts for r2, in t1 (r2's unit on the 10th).
    e = Events()
    history = [*org(e)[:3], e.join("r1", "t1"), e.join("r2", "t1")]
    history += [
        e.transfer("r2", "t2", "2026-11-15"),
        e.order("r1", "2026-11-10", "800", order_id="o-1"),
    ]
    history.append(e.order("r2", "2026-11-16", "200", order_id="o-2"))
    before = build_oracle(history, CTX)
    assert [
        x.total for x in contest(before, "revenue", "2026-11", ["t1", "t2"], AS_OF, UTC).entries
    ] == [800, 200]

    after = build_oracle([*history, e.credit("m", "2026-11-20", {"r2": 1}, order_id="o-1")], CTX)

    assert totals(after, "r1") == {} and totals(after, "r2")["revenue"] == 1000
    entries = contest(after, "revenue", "2026-11", ["t1", "t2"], AS_OF, UTC).entries
    assert [(x.unit_id, x.total) for x in entries] == [("t1", 800), ("t2", 200)]
    board = leaderboard(after, "revenue", "2026-11", AS_OF, UTC)
    assert [(x.rep_id, x.value) for x in board.entries] == [("r2", 1000), ("r1", 0)]


@pytest.mark.parametrize(
    ("policy", "november", "december"),
    [
        ("restate", {}, {}),
        ("clawback", {"revenue": 100000, "orders": 1}, {"revenue": -100000, "orders": -1}),
    ],
)
def test_a_cancellation_in_the_next_month_under_both_policies(
    policy: str, november: dict[str, int], december: dict[str, int]
) -> None:
    # restate: November loses the order; clawback: November stays as reported, December pays.
    text = default_kpis().source.replace("version = 1", f'version = 2\ncorrections = "{policy}"')
    ctx = FoldContext(parse_kpis(text))
    e = Events()
    history = [*org(e), e.order("r1", "2026-11-30", "100000", order_id="o-1")]
    history.append(e.cancel("r1", "2026-12-03", "o-1"))
    projection = build_oracle(history, ctx)
    assert totals(projection, "r1", NOV) == november
    assert totals(projection, "r1", DEC) == december


def test_clawback_books_an_amendment_and_a_reassignment_on_their_own_days() -> None:
    text = default_kpis().source.replace("version = 1", 'version = 2\ncorrections = "clawback"')
    ctx = FoldContext(parse_kpis(text))
    e = Events()
    history = [*org(e), e.order("r1", "2026-11-30", "100000", order_id="o-1")]
    history += [
        e.amend("r1", "2026-12-02", "o-1", "10000"),
        e.credit("m", "2026-12-05", {"r2": 1}, order_id="o-1"),
    ]
    projection = build_oracle(history, ctx)
    assert totals(projection, "r1", NOV, ["revenue"]) == {"revenue": 100000}
    r1 = projection.metric_days(["revenue"], [RepSpan("r1", *DEC)])
    assert [(d.day, d.value) for d in r1] == [
        (date(2026, 12, 2), -90000),
        (date(2026, 12, 5), -10000),
    ]
    assert totals(projection, "r2", DEC, ["revenue"]) == {"revenue": 10000}


def test_corrections_arriving_before_what_they_correct_give_the_same_numbers() -> None:
    e = Events()
    order = e.order("r1", "2026-11-10", "100000", order_id="o-1")
    amend = e.amend("r1", "2026-11-12", "o-1", "10000")
    split_credit = e.credit("r1", "2026-11-13", {"r1": "0.25", "r2": "0.75"}, order_id="o-1")
    people = org(e)
    in_order = build_oracle([*people, order, amend, split_credit], CTX)
    backwards = build_oracle([split_credit, amend, *people, order], CTX)
    assert in_order.snapshot() == backwards.snapshot()
    assert totals(backwards, "r2") == {"revenue": 7500, "orders": Decimal("0.75")}


def _credit_event(shares: Any, **target: Any) -> dict[str, Any]:
    return {
        "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11",
        "type": "CreditAssigned",
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "rep_id": "m",
        "data": {"shares": shares, **(target or {"order_id": "o-1"})},
    }


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (_credit_event([{"rep_id": "r1", "share": "0.5"}]), ("data", "shares"), "sum to 1"),
        (
            _credit_event([{"rep_id": "r1", "share": "1.5"}, {"rep_id": "r2", "share": "-0.5"}]),
            ("data", "shares", 1, "share"),
            "negative",
        ),
        (
            _credit_event([{"rep_id": "r1", "share": "0.5"}, {"rep_id": "r1", "share": "0.5"}]),
            ("data", "shares"),
            "more than once",
        ),
        (
            _credit_event([{"rep_id": "r1", "share": "1"}], order_id="o", opportunity_id="d"),
            ("data",),
            "exactly one",
        ),
    ],
)
def test_bad_shares_are_rejected_with_the_field_named(
    raw: Any, field: tuple[Any, ...], reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw)
    errors = caught.value.errors()
    assert any(err["loc"][1:] == field and reason in err["msg"] for err in errors), errors


def test_a_negative_amendment_is_rejected_with_the_field_named() -> None:
    raw = {
        "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11",
        "type": "OrderAmended",
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "rep_id": "r1",
        "data": {"order_id": "o-1", "amount": "-5", "currency": "USD", "reason": "x"},
    }
    with pytest.raises(ValidationError) as caught:
        parse_event(raw)
    assert [err["loc"][1:] for err in caught.value.errors()] == [("data", "amount")]


def test_a_batch_reports_its_corrections_and_does_not_announce_a_re_sent_order() -> None:
    e = Events()
    projection = InMemoryProjection(CTX)
    first = e.order("r1", "2026-11-10", "100000", order_id="o-1")
    projection.apply_batch([(0, i, ev) for i, ev in enumerate([*org(e), first])])
    again = e.order("r1", "2026-11-11", "10000", order_id="o-1")
    cancel = e.cancel("r2", "2026-11-12", "o-2")  # an order never seen: a correction still

    result = projection.apply_batch([(0, 10, again), (1, 0, cancel)])

    assert result.deal_wins == ()  # the re-sent OrderSigned is an amendment, not a new deal
    assert [(c.fact.event_id, c.reps) for c in result.corrections] == [
        (again.event_id, ("r1",)),
        (cancel.event_id, ()),
    ]
    assert [(r.metric, r.value) for r in result.corrections[0].credits] == [
        ("orders", 1),
        ("revenue", 10000),
    ]
