"""Realistic corrections of the simulated deals: amended and cancelled orders, bounced payments,
reopened deals, shared and reassigned credit, and duplicate deals (撞单) with their resolution.

Drawn from a random generator of their own (`Sim.fixes`), so the history without them is the
same event for event: corrections are added, nothing else moves.
"""

from __future__ import annotations

from producers.simulator.amounts import cents, quantum
from producers.simulator.context import Sim
from producers.simulator.org import Rep

AMEND = 0.03  # of signed orders: the amount was mistyped or renegotiated
CANCEL = 0.015  # of signed orders: withdrawn
REVERSE = 0.02  # of payments: bounced (whole) or partly refunded
REOPEN = 0.01  # of won deals: fell through (its order is cancelled too)
SHARE = 0.03  # of orders: credit split 50/50 with a colleague
REASSIGN = 0.01  # of won deals: logged under the wrong rep
DUPLICATE = 0.01  # of new deals: a colleague opens a deal on the same account
DAY = 86_400


def after_order(sim: Sim, rep: Rep, ts: int, order_id: str, amount: int, currency: str) -> None:
    """Maybe amend, cancel or share the order, days later."""
    fx, out = sim.fixes, sim.out
    when = ts + fx.randint(1, 10) * DAY // 2
    roll = fx.random()
    if roll < AMEND:
        step = quantum(currency)
        revised = max(step, round(amount * fx.uniform(0.6, 1.1) / step) * step)
        data = {"order_id": order_id, "amount": cents(revised), "currency": currency}
        out.rep(when, "OrderAmended", rep, {**data, "reason": "amount corrected"})
    elif roll < AMEND + CANCEL:
        out.rep(when, "OrderCancelled", rep, {"order_id": order_id, "reason": "withdrawn"})
    elif roll < AMEND + CANCEL + SHARE:
        other = sim.org.colleague(fx, rep, when)
        if other is not None:
            shares = [
                {"rep_id": rep.rep_id, "share": "0.5"},
                {"rep_id": other.rep_id, "share": "0.5"},
            ]
            out.rep(when, "CreditAssigned", rep, {"order_id": order_id, "shares": shares})


def after_payment(sim: Sim, rep: Rep, ts: int, payment_id: str, amount: int) -> None:
    """Maybe the payment bounces (all of it) or is partly refunded."""
    fx = sim.fixes
    if fx.random() >= REVERSE:
        return
    data: dict[str, object] = {"payment_id": payment_id, "reason": "bounced"}
    if fx.random() < 0.5 and amount >= 2:
        data = {"payment_id": payment_id, "amount": cents(amount // 2), "reason": "refund"}
    sim.out.rep(ts + fx.randint(1, 14) * DAY, "PaymentReversed", rep, data)


def after_win(sim: Sim, rep: Rep, ts: int, opp_id: str) -> bool:
    """Maybe the won deal falls through (True: its order is then cancelled) or is reassigned."""
    fx, out = sim.fixes, sim.out
    roll = fx.random()
    if roll < REOPEN:
        data = {"opportunity_id": opp_id, "to_stage": "negotiation", "reason": "fell through"}
        out.rep(ts + fx.randint(1, 5) * DAY, "OpportunityReopened", rep, data)
        return True
    if roll < REOPEN + REASSIGN:
        other = sim.org.colleague(fx, rep, ts)
        if other is not None:
            shares = [{"rep_id": other.rep_id, "share": "1"}]
            data2 = {"opportunity_id": opp_id, "shares": shares}
            out.rep(ts + fx.randint(1, 3) * DAY, "CreditAssigned", rep, data2)
    return False


def duplicate_deal(sim: Sim, rep: Rep, ts: int, opened: dict[str, object]) -> None:
    """Maybe a colleague opens a deal on the same account; settled by a split, or dropped."""
    fx, out = sim.fixes, sim.out
    if fx.random() >= DUPLICATE:
        return
    other = sim.org.colleague(fx, rep, ts)
    if other is None:
        return
    when = ts + fx.randint(1, 3) * DAY
    twin = {**opened, "opportunity_id": sim.next_id("o")}
    if out.rep(when, "OpportunityCreated", other, twin) is None:
        return
    later = when + fx.randint(1, 4) * DAY
    if fx.random() < 0.5:
        data = {"opportunity_id": opened["opportunity_id"], "shares": _halves(rep, other)}
        out.rep(later, "CreditAssigned", rep, data)
    else:
        data = {"opportunity_id": twin["opportunity_id"], "reason": "duplicate"}
        out.rep(later, "OpportunityLost", other, data)


def _halves(a: Rep, b: Rep) -> list[dict[str, str]]:
    return [{"rep_id": a.rep_id, "share": "0.5"}, {"rep_id": b.rep_id, "share": "0.5"}]
