"""What a batch's corrections announce: a retracted or corrected deal, a revoked milestone.

Called by the live worker inside the batch's transaction (beside `announcements`), so a
retraction commits with the numbers it follows, or not at all. Rules (README, "Broadcasts"):
- a correction (amend, re-sent OrderSigned, cancel, reopen, loss, credit) of an announced deal
  is one `deal_retracted` (the deal counts nothing now) or `deal_corrected` (its new amount and
  credited reps), keyed `correction:<the correcting event id>`: once, across restarts;
- a direct order's announcement is found by order_id, a won deal's by opportunity_id (the
  latest win: a deal won again after a reopening was announced again);
- a milestone (100 % of a monthly revenue target) of a rep or unit the corrected entity was
  credited to, whose scope is now under 100 %, gets one `milestone_revoked` (`revoked:<id>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from projections.broadcasts.announcements import MILESTONE_METRIC, AnnouncementContext
from projections.broadcasts.log import Broadcast, NewBroadcast, announced_deals, recorded
from projections.model.batch import Correction
from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.model.scopes import unit_on
from projections.queries.numbers import plain

# The metric whose credited rows say what an announced deal is worth now.
AMOUNT_METRIC = {"order": "revenue", "opportunity": "won_amount"}


def retractions(
    conn: psycopg.Connection[Any],
    broadcasts_schema: str,
    rm: ReadModel,
    kpis: KpiDefinitions,
    corrections: Sequence[Correction],
) -> list[NewBroadcast]:
    """The broadcasts for the corrections a batch newly applied, in occurred_at order."""
    out: list[NewBroadcast] = []
    touched: set[tuple[str, date]] = set()  # (rep_id, day) whose milestones to recheck
    deals = {
        kind: announced_deals(
            conn,
            broadcasts_schema,
            kind,
            [c.fact.entity_id for c in corrections if c.fact.kind == kind],
        )
        for kind in AMOUNT_METRIC
    }
    for c in corrections:
        f = c.fact
        if f.kind not in AMOUNT_METRIC:
            continue  # payments are never announced
        deal = deals[f.kind].get(f.entity_id)
        if deal is not None and deal.broadcast_id != str(f.event_id):
            out.append(_deal_change(deal, c))
        touched |= {(rep, day) for rep in c.reps for day in c.days}
    if corrections:
        at = max(c.fact.at for c in corrections)
        out += _revoked(conn, broadcasts_schema, AnnouncementContext(rm, kpis), touched, at)
    return out


def _deal_change(deal: Broadcast, c: Correction) -> NewBroadcast:
    f = c.fact
    metric = AMOUNT_METRIC[f.kind]
    by_rep: dict[str, Decimal] = {}
    for row in c.credits:
        if row.metric == metric:
            by_rep[row.rep_id] = by_rep.get(row.rep_id, Decimal(0)) + row.value
    retracted = not c.credits
    payload: dict[str, Any] = {
        "deal_id": deal.broadcast_id,
        "correction": f.fact,
        "rep_id": deal.payload.get("rep_id"),
        # Who and where, as the announcement said: a channel that took the deal takes this.
        "rep_name": deal.payload.get("rep_name"),
        "unit_id": deal.payload.get("unit_id"),
        "unit_name": deal.payload.get("unit_name"),
        "account_id": deal.payload.get("account_id"),
        "order_id": deal.payload.get("order_id"),
        "opportunity_id": deal.payload.get("opportunity_id"),
        "was": deal.payload.get("amount"),
        "amount": None if retracted else plain(sum(by_rep.values(), Decimal(0))),
        "reps": [{"rep_id": r, "amount": plain(v)} for r, v in sorted(by_rep.items()) if v],
        "reason": f.text,
        "corrected_by": f.rep_id,
        "live": True,
    }
    if retracted:
        return NewBroadcast(f"correction:{f.event_id}", "deal_retracted", payload, f.at)
    return NewBroadcast(f"correction:{f.event_id}", "deal_corrected", payload, f.at)


def _revoked(
    conn: psycopg.Connection[Any],
    broadcasts_schema: str,
    context: AnnouncementContext,
    touched: set[tuple[str, date]],
    at: datetime,
) -> list[NewBroadcast]:
    scopes: set[tuple[str, str]] = set()
    for rep_id, day in touched:
        month = f"{day.year:04d}-{day.month:02d}"
        scopes.add((f"rep:{rep_id}", month))
        rep = context.reps.get(rep_id)
        unit_id = unit_on(rep, day) if rep is not None else None
        if unit_id:
            scopes.add((f"unit:{unit_id}", month))
    ids = {f"milestone:{s}:{MILESTONE_METRIC}:{m}:100": (s, m) for s, m in sorted(scopes)}
    if not ids:
        return []
    out = []
    for milestone_id in sorted(recorded(conn, broadcasts_schema, list(ids))):
        scope, month = ids[milestone_id]
        actual, target = context.actual_and_target(scope, month)
        if target is not None and actual < target:
            payload = {
                "milestone_id": milestone_id,
                "scope": scope,
                "metric": MILESTONE_METRIC,
                "period": month,
                "percent": 100,
                "actual": format(actual, "f"),
                "target": format(target, "f"),
            }
            out.append(NewBroadcast(f"revoked:{milestone_id}", "milestone_revoked", payload, at))
    return out
