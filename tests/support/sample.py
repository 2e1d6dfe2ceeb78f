"""Seeded random event histories (org tree, transfers, pipeline, late events) for tests, benches."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from schemas.events import AnyEvent
from tests.support.builders import Events

STAGES = ("prospecting", "qualification", "proposal", "negotiation")


def random_history(
    seed: int,
    reps: int = 12,
    days: int = 60,
    start: date = date(2026, 10, 1),
    tz: tzinfo = UTC,
    per_day: int = 6,
    corrections: float = 0.0,
) -> list[AnyEvent]:
    """A plausible history in a plausible log order, with some events arriving late.

    Company -> 2 departments -> 2 teams each; every rep joins a team; a few transfer or leave
    mid-way; targets are set, revised and (late) revised with an older timestamp; each rep
    each day logs calls and visits, works leads and deals through the stages to won or lost,
    signs orders (some in EUR) and receives payments; colleagues cheer the wins.

    With `corrections` (a rate multiplier: 1 is a few percent), some orders are re-sent,
    amended or cancelled, payments reversed, won deals reopened, credit split or reassigned —
    by another rep (so on another partition), days later; some corrections sit in the log
    *before* what they correct.
    """
    rnd = random.Random(seed)
    e = Events(tz=tz, first_id=seed * 10_000_000 + 1)
    teams = ["t1", "t2", "t3", "t4"]
    log: list[AnyEvent] = [
        e.unit("co", "company", None, at=start - timedelta(days=90)),
        e.unit("d1", "department", "co", at=start - timedelta(days=90)),
        e.unit("d2", "department", "co", at=start - timedelta(days=90)),
        *(
            e.unit(t, "team", "d1" if i < 2 else "d2", at=start - timedelta(days=90))
            for i, t in enumerate(teams)
        ),
    ]
    rep_ids = [f"r{i:03d}" for i in range(reps)]
    for i, r in enumerate(rep_ids):
        log.append(e.join(r, teams[i % 4], at=start - timedelta(days=60)))
    months = sorted({(start + timedelta(days=d)).strftime("%Y-%m") for d in range(days)})
    for m in months:
        log.append(e.target("company", "revenue", m, 50_000 * reps, at=start - timedelta(days=30)))
        for t in teams:
            log.append(
                e.target(f"unit:{t}", "revenue", m, 12_000 * reps, at=start - timedelta(days=30))
            )
        for r in rep_ids:
            log.append(
                e.target(
                    f"rep:{r}",
                    "revenue",
                    m,
                    rnd.randrange(30_000, 70_000, 1000),
                    at=start - timedelta(days=20),
                )
            )
            log.append(e.target(f"rep:{r}", "f2f_visits", m, 15, at=start - timedelta(days=20)))
    quarters = {
        f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in map(date.fromisoformat, _days(start, days))
    }
    for quarter in sorted(quarters):
        for dept in ("d1", "d2"):
            log.append(
                e.target(
                    f"unit:{dept}",
                    "revenue",
                    quarter,
                    30_000 * reps,
                    at=start - timedelta(days=30),
                )
            )
            log.append(
                e.target(
                    f"unit:{dept}",
                    "new_opportunities",
                    quarter,
                    12 * reps,
                    at=start - timedelta(days=30),
                )
            )
    # A revenue target at every period kind (year, quarter, month, ISO week, day) for every
    # scope the differential suite asks about, where none is set above: each goals and plan
    # query then compares a real report, not two empty ones.
    set_revenue = {
        (x.data.scope, x.data.period)  # type: ignore[attr-defined]
        for x in log
        if x.type == "TargetSet" and x.data.metric == "revenue"  # type: ignore[attr-defined]
    }
    every_scope = [
        "company",
        *(f"unit:{u}" for u in ("co", "d1", "d2", *teams)),
        *(f"rep:{r}" for r in rep_ids),
    ]
    for period in _every_period(start, days):
        for scope in every_scope:
            if (scope, period) not in set_revenue:
                log.append(
                    e.target(scope, "revenue", period, 1_000 * reps, at=start - timedelta(days=10))
                )
    open_deals: dict[str, tuple[str, int, int]] = {}  # opp -> (rep, stage index, amount)
    late: list[tuple[int, AnyEvent]] = []
    wins: list[AnyEvent] = []
    for d in range(days):
        day = start + timedelta(days=d)

        def at(hour: float, day: date = day) -> datetime:
            return datetime.combine(day, time(), tzinfo=tz) + timedelta(hours=hour)

        for r in rep_ids:
            for _ in range(rnd.randint(1, per_day)):
                kind = rnd.random()
                hour = rnd.uniform(8, 19)
                if kind < 0.35:
                    log.append(
                        e.call(
                            r,
                            at(hour),
                            rnd.choice(["connected", "connected", "no_answer", "voicemail"]),
                        )
                    )
                elif kind < 0.6:
                    visit = e.visit(
                        r,
                        at(hour),
                        f2f=rnd.random() < 0.7,
                        ka=rnd.random() < 0.2,
                        duration_min=rnd.randint(5, 90),
                        visit_type=rnd.choice(["planned", "route", "ad_hoc", "assisted"]),
                    )
                    # A visit synced from a phone days later: arrives late in the log.
                    if rnd.random() < 0.1:
                        late.append((len(log) + rnd.randint(50, 400), visit))
                    else:
                        log.append(visit)
                elif kind < 0.7:
                    log.append(e.lead(r, at(hour), rnd.choice(["web", "referral", "event"])))
                elif kind < 0.75:
                    log.append(e.qualify(r, at(hour), rnd.choice(["MQL", "SQL"])))
                elif kind < 0.83:
                    opp = f"o{seed}-{len(log)}"
                    amount = rnd.randrange(1_000, 40_000, 100)
                    close = (day + timedelta(days=rnd.randint(10, 60))).isoformat()
                    log.append(
                        e.created(r, at(hour), opp, amount, stage="prospecting", close=close)
                    )
                    open_deals[opp] = (r, 0, amount)
                elif open_deals:
                    opp = rnd.choice(sorted(open_deals))
                    owner, stage, amount = open_deals[opp]
                    roll = rnd.random()
                    if roll < 0.55 and stage < 3:
                        revised = (
                            amount + rnd.randrange(-500, 1000, 100) if rnd.random() < 0.3 else None
                        )
                        log.append(e.stage(owner, at(hour), opp, STAGES[stage + 1], amount=revised))
                        open_deals[opp] = (owner, stage + 1, revised or amount)
                    elif roll < 0.8 and stage >= 2:
                        won = e.won(owner, at(hour), opp, amount)
                        log.append(won)
                        wins.append(won)
                        currency = "EUR" if rnd.random() < 0.2 else "USD"
                        log.append(
                            e.order(owner, at(hour + 0.1), amount, currency=currency, opp=opp)
                        )
                        log.append(e.payment(owner, at(hour + 0.2), amount // 2, currency=currency))
                        del open_deals[opp]
                        if corrections:
                            deal, later = log[-3:], at(hour + 1)
                            _correct(rnd, corrections, e, log, late, rep_ids, owner, deal, later)
                    elif roll > 0.93:
                        log.append(e.lost(owner, at(hour), opp, rnd.choice(["price", "timing"])))
                        del open_deals[opp]
        for _ in range(min(3, len(wins))):
            won = rnd.choice(wins)
            log.append(
                e.cheer(
                    rnd.choice(rep_ids), won.occurred_at + timedelta(minutes=5), str(won.event_id)
                )
            )
        if d == days // 2 and reps > 2:
            log.append(e.transfer(rep_ids[0], "t3", at(9)))
            log.append(e.leave(rep_ids[1], at(17)))
            # Revisions (a target, a lock, a unit's name), each followed much later in the log
            # by an older one that must not win: the later-occurred one wins, the first lock.
            t2: dict[str, Any] = {"unit_id": "t2", "kind": "team", "parent_id": "d1"}
            log.append(e.target("unit:t1", "revenue", months[0], 99_000, at=at(10)))
            log.append(e.lock("unit:t1", months[0], at(8)))
            log.append(e("UnitDefined", at(12), name="Hunters", **t2))
            older = [
                e.target("unit:t1", "revenue", months[0], 11_000, at=at(9) - timedelta(days=5)),
                e.lock("unit:t1", months[0], at(11)),
                e("UnitDefined", at(7), name="Old", **t2),
            ]
            late += [(len(log) + 3000, event) for event in older]
    for position, event in sorted(late, key=lambda x: x[0], reverse=True):
        log.insert(min(position, len(log)), event)
    return log


def _correct(
    rnd: random.Random,
    rate: float,
    e: Events,
    log: list[AnyEvent],
    late: list[tuple[int, AnyEvent]],
    rep_ids: list[str],
    owner: str,
    deal: list[AnyEvent],
    after: datetime,
) -> None:
    """Corrections of one won deal (its OpportunityWon, OrderSigned, PaymentReceived)."""
    won, order, payment = deal
    other = rnd.choice([r for r in rep_ids if r != owner] or rep_ids)
    when = after + timedelta(days=rnd.randint(0, 10), hours=rnd.random())
    made: list[AnyEvent] = []
    roll = rnd.random()
    order_id, currency = order.data.order_id, order.data.currency  # type: ignore[attr-defined]
    if roll < 0.05 * rate:
        made.append(e.amend(other, when, order_id, rnd.randrange(500, 40_000, 100), currency))
    elif roll < 0.08 * rate:
        made.append(e.cancel(other, when, order_id))
    elif roll < 0.10 * rate:  # the same order signed again under a new event_id: an amendment
        made.append(
            e.order(owner, when, rnd.randrange(500, 40_000, 100), currency, order_id=order_id)
        )
    if rnd.random() < 0.06 * rate:
        amount = None if rnd.random() < 0.4 else payment.data.amount / 2  # type: ignore[attr-defined]
        made.append(e.reverse(other, when, payment.data.payment_id, amount))  # type: ignore[attr-defined]
    if rnd.random() < 0.04 * rate:
        made.append(e.reopen(other, when, won.data.opportunity_id))  # type: ignore[attr-defined]
    if rnd.random() < 0.06 * rate:
        shares = {owner: "0.5", other: "0.5"} if rnd.random() < 0.6 else {other: "1"}
        target = rnd.choice([{"order_id": order_id}, {"opp": won.data.opportunity_id}])  # type: ignore[attr-defined]
        made.append(e.credit(other, when, shares, **target))
    for correction in made:
        if rnd.random() < 0.2:  # arrives before what it corrects
            log.insert(max(0, len(log) - rnd.randint(3, 40)), correction)
        else:
            late.append((len(log) + rnd.randint(0, 400), correction))


def _days(start: date, days: int) -> list[str]:
    return [(start + timedelta(days=d)).isoformat() for d in range(days)]


def _every_period(start: date, days: int) -> list[str]:
    """Every year, quarter, month, ISO week and day that [start, start + days) touches."""
    found: dict[str, None] = {}
    for d in range(days):
        day = start + timedelta(days=d)
        iso = day.isocalendar()
        for period in (
            str(day.year),
            f"{day.year}-Q{(day.month - 1) // 3 + 1}",
            f"{day.year}-{day.month:02d}",
            f"{iso.year}-W{iso.week:02d}",
            day.isoformat(),
        ):
            found[period] = None
    return list(found)
