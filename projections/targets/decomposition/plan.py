"""The decomposition operation: a SplitRequest in, a Plan of children's targets and events out.

Event ids (idempotence): each child's TargetSet has event_id = uuid5(decomposition_id,
"<child scope>|<child period>"), so publishing the same request twice writes the same
event_ids and the store counts them once; a different request (other value, weights,
children, ...) gets a new decomposition_id and new events, which replace the old targets as
later TargetSets do. To re-issue an identical split on purpose, give a new decomposition_id.

Lineage: each event carries the decomposition_id in `data.decomposition_id` (TargetSet v2),
which is what the projections record and the idempotence check looks up. The envelope's
`source` still names the producer as "targets-split/<decomposition_id>", for readers of the
raw log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast
from uuid import UUID, uuid5

from projections.targets.decomposition.errors import DecompositionError
from projections.targets.decomposition.org_split import OrgBy, OrgInto, check_children, org_weights
from projections.targets.decomposition.prorate import Presence, days_present, prorated_allocation
from projections.targets.decomposition.request import TIME_INTO, SplitRequest
from projections.targets.decomposition.rounding import allocate, as_amount, quantum_of
from projections.targets.decomposition.time_split import (
    TimeBy,
    straddle_warnings,
    time_slices,
    time_weights,
)
from schemas.periods import parse_period

SOURCE_PREFIX = "targets-split/"


@dataclass(frozen=True)
class Allocation:
    """One child's target: its scope and period, the rounded value and its exact share."""

    scope: str
    period: str
    value: Decimal
    share: Fraction  # of the parent, before pro-rating and rounding
    days: int  # days inside the parent (time) or present in it (org)


@dataclass(frozen=True)
class Plan:
    """The result of a split; `children + unallocated == parent` exactly."""

    decomposition_id: UUID
    request: SplitRequest
    allocations: tuple[Allocation, ...]
    unallocated: Decimal
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((a.value for a in self.allocations), Decimal(0))

    def events(self, at: datetime, set_by: str | None = None) -> list[dict[str, Any]]:
        """The children's TargetSet events in JSON form (DESIGN.md Part B), in child order."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise DecompositionError("the events' occurred_at needs a time zone offset")
        who = {"set_by": set_by} if set_by else {}
        return [
            {
                "event_id": str(child_event_id(self.decomposition_id, a.scope, a.period)),
                "type": "TargetSet",
                "occurred_at": at.isoformat(),
                "source": f"{SOURCE_PREFIX}{self.decomposition_id}",
                "data": {
                    "scope": a.scope,
                    "metric": self.request.metric,
                    "period": a.period,
                    "value": str(a.value),
                    "decomposition_id": str(self.decomposition_id),
                    **who,
                },
            }
            for a in self.allocations
        ]


def child_event_id(decomposition_id: UUID, scope: str, period: str) -> UUID:
    """Deterministic event_id of one child's TargetSet (a period never contains '|')."""
    return uuid5(decomposition_id, f"{scope}|{period}")


def decompose(request: SplitRequest) -> Plan:
    """Split the request's target across time or down the organisation (pure, exact)."""
    parent = parse_period(request.period)
    quantum = quantum_of(request.quantity, request.currency)
    if request.is_time_split:
        slices = time_slices(parent, TIME_INTO[request.into])
        # The request's validator lets only time modes through for a time split.
        by = cast(TimeBy, request.by)
        weights = time_weights(slices, by, request.weights, set(request.holidays), request.weekend)
        values = allocate(request.value, weights, quantum)
        whole = sum(weights, Fraction(0))
        allocations = tuple(
            Allocation(request.scope, s.period.text, v, w / whole, s.days)
            for s, v, w in zip(slices, values, weights, strict=True)
        )
        return Plan(
            request.resolved_id(),
            request,
            allocations,
            as_amount(0, quantum),
            tuple(straddle_warnings(parent, slices)),
        )
    children = request.children
    # ... and only org modes (and org `into`) through for a split down the organisation.
    check_children(request.scope, cast(OrgInto, request.into), children)
    weights = org_weights(children, cast(OrgBy, request.by), request.weights, request.shares)
    if request.prorate:
        present = [days_present(request.presence.get(c, (Presence(),)), parent) for c in children]
        values, unallocated = prorated_allocation(
            request.value, weights, present, parent.days, quantum
        )
    else:
        present = [parent.days] * len(children)
        values, unallocated = allocate(request.value, weights, quantum), as_amount(0, quantum)
    whole = sum(weights, Fraction(0))
    allocations = tuple(
        Allocation(c, request.period, v, w / whole, d)
        for c, v, w, d in zip(children, values, weights, present, strict=True)
    )
    return Plan(request.resolved_id(), request, allocations, unallocated)
