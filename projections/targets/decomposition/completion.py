"""A split request completed from the projections: what the caller left out, read one way.

`salespulse targets split` and `POST /api/targets/split` both call `complete`, so the same
request gives the same decomposition from either edge: the org children sorted by id (their
order breaks rounding ties, so the same org gives the same request and decomposition_id),
their days in the period when pro-rated, the reference actuals for `by: share`, the quantity
from the metric's definition in the KPI version readers see (money is rounded to the
currency's minor unit, anything else to whole numbers), and the base currency. Only what is
needed is read: a request that names its children needs no projections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.targets.decomposition.errors import DecompositionError
from projections.targets.decomposition.org_split import OrgInto
from projections.targets.decomposition.request import SplitRequest
from projections.targets.decomposition.source import org_children, reference_shares
from schemas.periods import parse_period


class CompletionError(DecompositionError):
    """A field the request left out and the projections cannot supply; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def complete(
    request: SplitRequest,
    reads: Callable[[], ReadModel | None],
    kpis: Callable[[], KpiDefinitions],
    base_currency: str,
) -> SplitRequest:
    """The request with quantity, currency, children, presence and shares filled in.

    `reads` gives the active read model (None: no version active yet) and `kpis` the active
    KPI definitions; each is called only when a field needs it.
    """
    given = request.model_fields_set
    updates: dict[str, Any] = {}
    if "quantity" not in given:
        definition = kpis().metrics.get(request.metric)
        if definition is None:
            raise CompletionError("quantity", f"unknown metric {request.metric!r}")
        updates["quantity"] = "money" if definition.is_money else "count"
    if "currency" not in given:
        updates["currency"] = base_currency
    children = list(request.children)
    if not request.is_time_split and not children:
        into = cast(OrgInto, request.into)
        period = parse_period(request.period)
        children, found = org_children(_model(reads, "children"), request.scope, into, period)
        if not children:
            kind = "child units" if into == "children" else "reps"
            raise CompletionError(
                "children", f"the projections know no {kind} of {request.scope} in {period.text}"
            )
        updates["children"] = tuple(children)
        if request.prorate:
            # Presence given explicitly (a known joining date) wins over what was projected.
            updates["presence"] = {**found, **request.presence}
    if not request.is_time_split and request.by == "share" and not request.shares:
        if request.reference_period is None:
            raise CompletionError("reference_period", "by share needs reference_period (or shares)")
        reference = parse_period(request.reference_period)
        model = _model(reads, "shares")
        updates["shares"] = reference_shares(model, request.metric, children, reference)
    if not updates:
        return request
    # Validated again: the filled-in fields must pass the same checks as given ones.
    return SplitRequest(**{**request.model_dump(), **updates})


def _model(reads: Callable[[], ReadModel | None], field: str) -> ReadModel:
    model = reads()
    if model is None:
        raise CompletionError(field, "no projection version is active yet (start a worker)")
    return model
