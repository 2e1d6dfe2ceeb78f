"""Split inputs from the projections: a scope's children, their presence, reference actuals.

The split itself stays pure (plan.py takes explicit children and shares); this module is the
one place that reads them from a ReadModel (in-memory or PostgreSQL), so the CLI and the
HTTP API build requests the same way. Children come sorted by id, which makes the rounding
tie-break order, and so the whole request and its decomposition_id, reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from projections.model.readmodel import ReadModel, Unit
from projections.model.scopes import scope_spans, subtree, unit_spans
from projections.targets.decomposition.org_split import OrgInto
from projections.targets.decomposition.prorate import Presence
from schemas.periods import Period, Scope, parse_scope


def _scope_units(units: Mapping[str, Unit], scope: Scope) -> set[str]:
    """The units a unit or company scope stands for (the company: every company-kind unit)."""
    if scope.kind == "unit":
        return {scope.id or ""}
    return {u.unit_id for u in units.values() if u.kind == "company"}


def child_units(read_model: ReadModel, scope: str) -> list[str]:
    """Scopes of the units directly below a unit (or the company), sorted by id."""
    units = read_model.units()
    parents = _scope_units(units, parse_scope(scope))
    return sorted(f"unit:{u.unit_id}" for u in units.values() if u.parent_id in parents)


def member_reps(
    read_model: ReadModel, scope: str, period: Period
) -> tuple[list[str], dict[str, tuple[Presence, ...]]]:
    """Reps in the unit (or below it) on any day of the period, and the days they are in it.

    A rep in the unit for the whole period gets no presence entry (present throughout).
    """
    units, reps = read_model.units(), read_model.reps()
    parsed = parse_scope(scope)
    roots = set(units) if parsed.kind == "company" else _scope_units(units, parsed)
    tree = set().union(*(subtree(units, root) for root in roots)) if roots else set()
    children: list[str] = []
    presence: dict[str, tuple[Presence, ...]] = {}
    for rep_id in sorted(reps):
        spans = unit_spans(reps[rep_id], tree, period.start, period.end)
        if not spans:
            continue
        children.append(f"rep:{rep_id}")
        if sum((s.end - s.start).days for s in spans) < period.days:
            presence[f"rep:{rep_id}"] = tuple(Presence(s.start, s.end) for s in spans)
    return children, presence


def org_children(
    read_model: ReadModel, scope: str, into: OrgInto, period: Period
) -> tuple[list[str], dict[str, tuple[Presence, ...]]]:
    """The children of a split down the organisation and (reps only) their presence."""
    if into == "children":
        return child_units(read_model, scope), {}
    return member_reps(read_model, scope, period)


def reference_shares(
    read_model: ReadModel, metric: str, children: Sequence[str], reference: Period
) -> dict[str, Decimal]:
    """Each child's actual of the metric in the reference period (membership at event time)."""
    units, reps = read_model.units(), read_model.reps()
    shares: dict[str, Decimal] = {}
    for child in children:
        spans = scope_spans(parse_scope(child), units, reps, reference.start, reference.end)
        totals = read_model.metric_totals([metric], spans) if spans else {}
        shares[child] = sum((t.value for t in totals.values()), Decimal(0))
    return shares
