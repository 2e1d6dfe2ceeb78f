"""The customer of each announced deal: the payload's account, else the won opportunity's."""

from __future__ import annotations

from collections.abc import Sequence

from projections.broadcasts.log import Broadcast
from projections.model.readmodel import ReadModel


def customers(rows: Sequence[Broadcast], model: ReadModel) -> dict[str, str | None]:
    """broadcast_id -> account id, for the deal wins among `rows`.

    An OpportunityWon carries no account (OpportunityCreated did), so the opportunities of the
    announced reps are read once for the whole list rather than once per row.
    """
    out: dict[str, str | None] = {}
    missing: dict[str, str] = {}  # opportunity_id -> broadcast_id
    for b in rows:
        if b.kind != "deal_won":
            continue
        account = b.payload.get("account_id")
        out[b.broadcast_id] = account if isinstance(account, str) else None
        opportunity = b.payload.get("opportunity_id")
        if out[b.broadcast_id] is None and isinstance(opportunity, str):
            missing[opportunity] = b.broadcast_id
    if missing:
        wanted = set(missing.values())
        reps = sorted(
            {
                r
                for b in rows
                if b.broadcast_id in wanted and isinstance(r := b.payload.get("rep_id"), str)
            }
        )
        for opp in model.opportunities(reps):
            if opp.opportunity_id in missing:
                out[missing[opp.opportunity_id]] = opp.account_id
    return out
