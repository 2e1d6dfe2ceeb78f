"""Deals: opportunities through the stages to won or lost, orders, payments and cheers.

A deal's whole future is decided when it opens and queued in the outbox at its own times,
so the run streams day by day without keeping open deals in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from producers.simulator import corrections
from producers.simulator.amounts import allocate, cents, quantum
from producers.simulator.context import Sim
from producers.simulator.org import Rep

STAGES = ("prospecting", "qualification", "proposal", "negotiation")
# The default win probabilities (0.10, 0.25, 0.50, 0.75, DESIGN Part B) hold when a deal in
# each stage advances with their ratio and wins from negotiation with 0.75.
ADVANCE = (0.10 / 0.25, 0.25 / 0.50, 0.50 / 0.75)
WIN_FROM_NEGOTIATION = 0.75
LOST_REASONS = (
    ("no_response", "not_a_fit", "no_budget"),
    ("no_budget", "not_a_fit", "timing"),
    ("price", "competitor", "timing"),
    ("price", "competitor", "no_decision"),
)
DIRECT_ORDERS_PER_DAY = 0.3  # reorders placed without an opportunity
UNPAID_SHARE = 0.05  # still open (or disputed) at the end of the run
MAX_CHEERS = 8


@dataclass(frozen=True)
class Segment:
    name: str
    per_day: float  # new opportunities per rep and working day at factor 1.0
    median_amount: float  # in the deal currency's major unit
    sigma: float  # spread of the log-normal deal size
    bounds: tuple[int, int]  # smallest and largest deal, major units
    step_cents: int  # deals are quoted in round numbers
    step_days: tuple[int, int]  # calendar days a deal sits in one stage
    product_lines: tuple[str, ...]


# High-volume small orders close in days to weeks; a few enterprise deals take months.
SMALL = Segment(
    "transactional", 2.2, 2500, 0.6, (200, 25_000), 10_00, (1, 6),
    ("consumables", "accessories", "service_plans"),
)  # fmt: skip
LARGE = Segment(
    "enterprise", 0.05, 150_000, 0.6, (30_000, 1_500_000), 1000_00, (12, 40),
    ("platform", "fleet", "installation"),
)  # fmt: skip


def rep_day(sim: Sim, rep: Rep, day: int, factor: float) -> None:
    """New deals and direct orders for one rep on one weekday."""
    rng = sim.rng
    for ts in sim.clock.work_times(rng, day, int(SMALL.per_day * factor + rng.random())):
        open_deal(sim, rep, day, ts, SMALL)
    if rng.random() < LARGE.per_day * rep.seniority:
        open_deal(sim, rep, day, sim.clock.work_time(rng, day), LARGE)
    for ts in sim.clock.work_times(rng, day, int(DIRECT_ORDERS_PER_DAY * factor + rng.random())):
        amount = round(rng.lognormvariate(math.log(1200), 0.5) * 100)  # reorders: exact cents
        currency = sim.currency()
        amount -= amount % quantum(currency)
        _order(sim, rep, day, ts, None, _account(sim, rep, False), max(amount, 100), currency)


def import_pipeline(sim: Sim, rep: Rep, day: int, ts: int) -> None:
    """The deals a rep already has open when the run starts, entered at their current stage."""
    rng = sim.rng
    for _ in range(rng.randint(2, 6)):
        open_deal(sim, rep, day, ts, SMALL, stage=rng.randrange(len(STAGES)))
    if rng.random() < 0.5 * rep.seniority:
        open_deal(sim, rep, day, ts, LARGE, stage=rng.randrange(1, len(STAGES)))


def _account(sim: Sim, rep: Rep, key: bool) -> str:
    pool = rep.key_accounts if key else len(rep.accounts)
    return rep.accounts[int(sim.rng.random() * pool)]


def open_deal(sim: Sim, rep: Rep, day: int, ts: int, seg: Segment, stage: int = 0) -> None:
    """Create an opportunity and queue its stage changes and outcome at their future times."""
    rng, out, clock = sim.rng, sim.out, sim.clock
    lo, hi = seg.bounds
    currency = sim.currency()
    step = max(seg.step_cents, quantum(currency))
    major = min(max(rng.lognormvariate(math.log(seg.median_amount), seg.sigma), lo), hi)
    amount = max(step, round(major * 100 / step) * step)
    opp_id = sim.next_id("o")
    account = _account(sim, rep, key=seg is LARGE or rng.random() < 0.2)
    remaining = (len(STAGES) - stage) * sum(seg.step_days) // 2
    opened: dict[str, object] = {
        "opportunity_id": opp_id,
        "account_id": account,
        "amount": cents(amount),
        "currency": currency,
        "product_line": rng.choice(seg.product_lines),
        "stage": STAGES[stage],
        "expected_close": date.fromordinal(day + remaining).isoformat(),
    }
    created = out.rep(ts, "OpportunityCreated", rep, opened)
    if created is None:
        return
    corrections.duplicate_deal(sim, rep, ts, opened)
    foreign = currency != sim.base_currency
    while True:
        previous = ts
        day, ts = clock.follow_up(rng, ts, day, *seg.step_days)
        if ts >= rep.left_ts:  # the owner leaves first: the deal is written off that day
            lost_ts = max(previous + 60, rep.left_ts - 1800)
            data = {"opportunity_id": opp_id, "reason": "owner_left"}
            out.rep(lost_ts, "OpportunityLost", rep, data)
            return
        if ts >= out.end_ts:
            return
        if seg is LARGE:
            _deal_visit(sim, rep, day, previous, ts, account, opp_id)
        advance = ADVANCE[stage] if stage < len(ADVANCE) else WIN_FROM_NEGOTIATION
        if rng.random() >= advance:
            reason = rng.choice(LOST_REASONS[stage])
            out.rep(ts, "OpportunityLost", rep, {"opportunity_id": opp_id, "reason": reason})
            return
        if stage == len(STAGES) - 1:
            break
        stage += 1
        change: dict[str, object] = {"opportunity_id": opp_id, "to_stage": STAGES[stage]}
        # Proposals re-scope the deal; negotiations usually end in a discount.
        revise = (0.0, 0.3, 0.4)[stage - 1]
        if rng.random() < revise:
            factor = rng.uniform(0.85, 1.15) if stage == 2 else rng.uniform(0.88, 1.0)
            amount = max(step, round(amount * factor / step) * step)
            change["amount"] = cents(amount)
            if foreign:
                change["currency"] = currency
        out.rep(ts, "OpportunityStageChanged", rep, change)
    won: dict[str, object] = {"opportunity_id": opp_id, "amount": cents(amount)}
    if foreign:
        won["currency"] = currency
    win_id = out.rep(ts, "OpportunityWon", rep, won)
    if win_id is None:
        return
    _cheers(sim, rep, ts, win_id)
    fell_through = corrections.after_win(sim, rep, ts, opp_id)
    order_ts = ts + rng.randint(600, 5400)
    _order(sim, rep, day, order_ts, opp_id, account, amount, currency, fell_through)


def _deal_visit(
    sim: Sim, rep: Rep, day: int, after: int, before: int, account: str, opp_id: str
) -> None:
    """Enterprise deals move at meetings: a visit on the day of the step, linked to the deal
    (VisitCompleted.opportunity_id, schema v2). Skipped when the meeting would fall outside
    the working day before the step."""
    rng = sim.rng
    ts = sim.clock.work_time(rng, day)
    if not after < ts < before:
        return
    data = {
        "visit_id": sim.next_id("v"),
        "account_id": account,
        "visit_type": "planned" if rng.random() < 0.7 else "assisted",
        "duration_min": rng.randint(45, 120),
        "face_to_face": True,
        "key_account": account in rep.accounts[: rep.key_accounts],
        "opportunity_id": opp_id,
    }
    sim.out.rep(ts, "VisitCompleted", rep, data)


def _cheers(sim: Sim, rep: Rep, ts: int, broadcast_id: str) -> None:
    """Colleagues like the announcement within minutes of the win."""
    rng = sim.rng
    for _ in range(int(rng.random() * rng.random() * MAX_CHEERS)):
        at = ts + rng.randint(5, 1800)
        fan = sim.org.colleague(rng, rep, at)
        if fan is not None:
            sim.out.rep(at, "Cheered", fan, {"broadcast_id": broadcast_id})


def _order(
    sim: Sim,
    rep: Rep,
    day: int,
    ts: int,
    opp_id: str | None,
    account: str,
    amount: int,
    currency: str,
    fell_through: bool = False,
) -> None:
    order_id = sim.next_id("so")
    data: dict[str, object] = {"order_id": order_id}
    if opp_id is not None:
        data["opportunity_id"] = opp_id
    data.update({"account_id": account, "amount": cents(amount), "currency": currency})
    if sim.out.rep(ts, "OrderSigned", rep, data) is None:
        return
    if fell_through:
        cancel = {"order_id": order_id, "reason": "deal fell through"}
        sim.out.rep(ts + 2 * corrections.DAY, "OrderCancelled", rep, cancel)
    else:
        corrections.after_order(sim, rep, ts, order_id, amount, currency)
    rng = sim.rng
    r = rng.random()
    if r < UNPAID_SHARE:
        return
    # Most customers pay in one go on ~net-30 terms; some in two or three instalments.
    n_parts = 1 if r < 0.72 else 2 if r < 0.92 else 3
    parts = allocate(amount, [rng.uniform(0.3, 1.0) for _ in range(n_parts)], quantum(currency))
    day, ts = sim.clock.follow_up(rng, ts, day, 5, 45)
    for part in parts:
        if part == 0:  # a tiny order split three ways: nothing left for this instalment
            continue
        data = {
            "payment_id": sim.next_id("p"),
            "order_id": order_id,
            "amount": cents(part),
            "currency": currency,
        }
        if sim.out.rep(ts, "PaymentReceived", rep, data) is not None:
            corrections.after_payment(sim, rep, ts, str(data["payment_id"]), part)
        day, ts = sim.clock.follow_up(rng, ts, day, 20, 40)
