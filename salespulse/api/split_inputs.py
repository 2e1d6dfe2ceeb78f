"""A split request as posted, completed from the projections as `salespulse targets split` does.

What the body leaves out is read the same way the CLI reads it (projections/decomposition/
source.py): the org children sorted by id (their order breaks rounding ties, so the same
org gives the same request and decomposition_id), their days in the period when pro-rated,
and the reference actuals for `by: share`. The quantity follows the metric's definition
(money is rounded to the currency's minor unit, anything else to whole numbers) and the
currency defaults to the base currency.
"""

from __future__ import annotations

from typing import Any, cast

from projections.targets.decomposition import SplitRequest
from projections.targets.decomposition.org_split import OrgInto
from projections.targets.decomposition.source import org_children, reference_shares
from salespulse.api.errors import bad
from salespulse.api.readside import ReadView
from schemas.periods import parse_period


def completed(body: SplitRequest, view: ReadView, base_currency: str) -> SplitRequest:
    """The request with children, presence, shares, quantity and currency filled in."""
    given = body.model_fields_set
    updates: dict[str, Any] = {}
    if "quantity" not in given:
        updates["quantity"] = "money" if view.kpis.metrics[body.metric].is_money else "count"
    if "currency" not in given:
        updates["currency"] = base_currency
    children = list(body.children)
    if not body.is_time_split and not children:
        period = parse_period(body.period)
        into = cast(OrgInto, body.into)
        children, presence = org_children(view.model, body.scope, into, period)
        if not children:
            kind = "child units" if into == "children" else "reps"
            raise bad("children", f"the projections know no {kind} of {body.scope} in {period}")
        updates["children"] = tuple(children)
        if body.prorate:
            updates["presence"] = presence
    if not body.is_time_split and body.by == "share" and not body.shares:
        if body.reference_period is None:
            raise bad("reference_period", "by share needs reference_period (or shares)")
        reference = parse_period(body.reference_period)
        updates["shares"] = reference_shares(view.model, body.metric, children, reference)
    if not updates:
        return body
    # Validated again: the filled-in fields must pass the same checks as given ones.
    return SplitRequest(**{**body.model_dump(), **updates})
