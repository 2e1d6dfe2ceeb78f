"""Duplicate-deal conflicts (撞单): one account with open deals of two reps, resolved or not.

A conflict is a deal created for an account that, at its creation, already had an open deal
of another rep (the creators differ; "open" = not closed before, by the deals' current state,
so a reopened deal is open). It is resolved once either deal is lost or has a CreditAssigned
(the credit was settled between the reps). A function of the projection's state, so any
arrival order gives the same list. Scope: a conflict belongs to both reps, each for the unit
they were in on the day of the collision.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from projections.model.readmodel import Opportunity, ReadModel
from projections.model.scopes import scope_spans, unit_on
from schemas.periods import Period, Scope, as_period, as_scope


@dataclass(frozen=True)
class Conflict:
    account_id: str
    opportunity_id: str  # the later deal, created while the other was open
    rep_id: str
    unit_id: str | None
    amount: Decimal | None
    other_opportunity_id: str
    other_rep_id: str
    other_unit_id: str | None
    other_amount: Decimal | None
    at: datetime  # when the later deal was created
    resolved: bool
    resolved_by: str | None  # "lost" or "credit"


def collisions(opportunities: list[Opportunity]) -> list[tuple[Opportunity, Opportunity]]:
    """(earlier, later) pairs of one account's deals by different reps, both open then."""
    by_account: dict[str, list[Opportunity]] = defaultdict(list)
    for o in opportunities:
        if o.account_id and o.created_at and o.created_by:
            by_account[o.account_id].append(o)
    pairs = []
    for account in sorted(by_account):
        deals = sorted(by_account[account], key=lambda o: (o.created_at, o.opportunity_id))
        for j, later in enumerate(deals):
            for earlier in deals[:j]:
                assert earlier.created_at is not None and later.created_at is not None
                if earlier.created_by == later.created_by:
                    continue
                if earlier.closed_at is not None and earlier.closed_at <= later.created_at:
                    continue
                pairs.append((earlier, later))
    return pairs


def conflicts(
    rm: ReadModel, scope: Scope | str, period: Period | str, tz: tzinfo
) -> list[Conflict]:
    """The conflicts of the period (by the later deal's creation day) involving the scope."""
    scope, period = as_scope(scope), as_period(period)
    pairs = collisions(rm.opportunities())
    if not pairs:
        return []
    units, reps = rm.units(), rm.reps()
    spans = scope_spans(scope, units, reps, period.start, period.end)
    ids = sorted({o.opportunity_id for pair in pairs for o in pair})
    facts = rm.fact_types("opportunity", ids)
    out = []
    for earlier, later in pairs:
        assert later.created_at is not None
        day = later.created_at.astimezone(tz).date()
        if not period.start <= day < period.end:
            continue
        involved = {later.created_by, earlier.created_by}
        if not any(s.rep_id in involved and s.start <= day < s.end for s in spans):
            continue
        credited = any(
            "CreditAssigned" in facts.get(o.opportunity_id, ()) for o in (earlier, later)
        )
        lost = "lost" in (earlier.outcome, later.outcome)
        rep, other = later.created_by or "", earlier.created_by or ""
        out.append(
            Conflict(
                account_id=later.account_id or "",
                opportunity_id=later.opportunity_id,
                rep_id=rep,
                unit_id=unit_on(reps[rep], day) if rep in reps else None,
                amount=later.amount,
                other_opportunity_id=earlier.opportunity_id,
                other_rep_id=other,
                other_unit_id=unit_on(reps[other], day) if other in reps else None,
                other_amount=earlier.amount,
                at=later.created_at,
                resolved=credited or lost,
                resolved_by="lost" if lost else "credit" if credited else None,
            )
        )
    return sorted(out, key=lambda c: (c.at, c.opportunity_id, c.other_opportunity_id))


def open_deal_of_another(
    opportunities: list[Opportunity], account_id: str, rep_id: str
) -> Opportunity | None:
    """An open deal of another rep on the account (what makes a new deal a duplicate)."""
    for o in sorted(opportunities, key=lambda o: o.opportunity_id):
        if o.account_id == account_id and o.outcome is None and o.created_by not in (None, rep_id):
            return o
    return None
