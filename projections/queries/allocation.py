"""Allocated and unallocated: how much of a target its children's targets account for.

Two directions, reported side by side and never added together (a target split down the org
and over time would otherwise count the same money twice):

- `allocated` (down the organisation): the sum of the current targets, same metric and same
  period, of the scope's direct children in the org tree. For `unit:X` those are the units
  whose parent is X and the reps who belonged to X itself (not to a unit below it) on some
  day of the period; for `company` (and the company-kind unit) the units directly below the
  company unit and the reps directly in it. One level down only: a department's allocated
  sums its teams' targets, not its reps'. A rep has no org children, and neither has a unit
  with no units below it and no reps in the period: None.
- `allocated_over_time`: the sum of the same scope's current targets, same metric, for the
  child periods of the next finer kind that has any target: a year's quarters, else its
  months, else its ISO weeks, else its days (a quarter's months, else weeks, else days; and
  so on). An ISO week straddling the period's edge counts whole, because a split of this
  period gives it only this period's days (projections/decomposition/time_split.py). None
  when no finer period has a target (the target was not split over time), and for a day.

A child without a target counts 0. `unallocated = target - allocated`, likewise over time:
0 when the children add up to the parent, negative when they were given more than it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from projections.model.calendar import KIND_RANK, child_slices
from projections.model.readmodel import ReadModel, Rep, Target, Unit
from projections.model.scopes import unit_spans
from schemas.periods import Period, PeriodKind, Scope

_ZERO = Decimal(0)
_KINDS: tuple[PeriodKind, ...] = ("year", "quarter", "month", "week", "day")


@dataclass(frozen=True)
class Allocation:
    """A metric's allocation to its org children and to its child periods (None: no children)."""

    allocated: Decimal | None
    unallocated: Decimal | None
    allocated_over_time: Decimal | None
    unallocated_over_time: Decimal | None


def org_children(
    units: Mapping[str, Unit], reps: Mapping[str, Rep], scope: Scope, period: Period
) -> list[str]:
    """The scopes directly below `scope` in the org tree during the period (sorted)."""
    if scope.kind == "rep":
        return []
    if scope.kind == "unit":
        parents = {scope.id or ""}
    else:
        parents = {u.unit_id for u in units.values() if u.kind == "company"}
    children = [f"unit:{u.unit_id}" for u in units.values() if u.parent_id in parents]
    children += [
        f"rep:{r.rep_id}" for r in reps.values() if unit_spans(r, parents, period.start, period.end)
    ]
    return sorted(children)


def time_children_total(by_period: Mapping[str, Decimal], period: Period) -> Decimal | None:
    """Sum of the targets of the child periods of the next finer kind that has any."""
    for kind in _KINDS[KIND_RANK[period.kind] + 1 :]:
        found = [
            by_period[s.period.text]
            for s in child_slices(period, kind)
            if s.period.text in by_period
        ]
        if found:
            return sum(found, _ZERO)
    return None


def allocations(
    rm: ReadModel, scope: Scope, period: Period, targets: Mapping[str, Decimal]
) -> dict[str, Allocation]:
    """Per metric of `targets` (the scope's own targets for the period), its allocations."""
    if not targets:
        return {}
    children = org_children(rm.units(), rm.reps(), scope, period)
    wanted = set(children)
    of_period: Sequence[Target] = rm.targets(period=period.text) if children else ()
    org_sums: dict[str, Decimal] = {}
    for t in of_period:
        if t.scope in wanted:
            org_sums[t.metric] = org_sums.get(t.metric, _ZERO) + t.value
    own: dict[str, dict[str, Decimal]] = {}
    for t in rm.targets(scope=str(scope)):
        own.setdefault(t.metric, {})[t.period] = t.value
    out: dict[str, Allocation] = {}
    for metric, target in targets.items():
        allocated = org_sums.get(metric, _ZERO) if children else None
        over_time = time_children_total(own.get(metric, {}), period)
        out[metric] = Allocation(
            allocated,
            None if allocated is None else target - allocated,
            over_time,
            None if over_time is None else target - over_time,
        )
    return out
