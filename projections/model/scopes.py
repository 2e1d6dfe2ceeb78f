"""Scopes to rep spans: the unit tree, membership at event time (day granularity), peers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from projections.model.readmodel import Rep, RepSpan, Unit
from schemas.periods import Scope


def subtree(units: Mapping[str, Unit], unit_id: str) -> set[str]:
    """The unit and every unit below it (the tree as currently defined)."""
    children: dict[str | None, list[str]] = {}
    for u in units.values():
        children.setdefault(u.parent_id, []).append(u.unit_id)
    out, todo = set(), [unit_id]
    while todo:
        current = todo.pop()
        if current not in out:
            out.add(current)
            todo.extend(children.get(current, ()))
    return out


def unit_changes(rep: Rep) -> list[tuple[date, str | None]]:
    """(day, unit) from which each membership holds; the last change of a day wins that day."""
    by_day: dict[date, str | None] = {}
    for m in rep.memberships:  # sorted by (day, at, event_id)
        by_day[m.day] = m.unit_id
    return sorted(by_day.items())


def unit_on(rep: Rep, day: date) -> str | None:
    """The unit of a rep on an org-local day: the latest change whose day <= day."""
    unit: str | None = None
    for since, unit_id in unit_changes(rep):
        if since > day:
            break
        unit = unit_id
    return unit


def unit_spans(rep: Rep, units: set[str], start: date, end: date) -> list[RepSpan]:
    """The days in [start, end) on which the rep belonged to one of the units."""
    changes = unit_changes(rep)
    spans: list[RepSpan] = []
    for i, (since, unit_id) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else end
        lo, hi = max(since, start), min(until, end)
        if unit_id in units and lo < hi:
            if spans and spans[-1].end == lo:  # a move inside the subtree: one span
                spans[-1] = RepSpan(rep.rep_id, spans[-1].start, hi)
            else:
                spans.append(RepSpan(rep.rep_id, lo, hi))
    return spans


def scope_spans(
    scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep], start: date, end: date
) -> list[RepSpan]:
    """The rep-days that count for a scope in [start, end).

    A rep scope counts all the rep's days. A unit scope counts a rep's days while the rep
    belonged to the unit or a unit below it. The company counts every day of every known rep
    (events before joining or after leaving still belong to the company).
    """
    if start >= end:
        return []
    if scope.kind == "rep":
        return [RepSpan(scope.id or "", start, end)]
    if scope.kind == "company":
        return [RepSpan(rep_id, start, end) for rep_id in sorted(reps)]
    tree = subtree(units, scope.id or "")
    return [s for rep in reps.values() for s in unit_spans(rep, tree, start, end)]


def members_on(
    units: Mapping[str, Unit], reps: Mapping[str, Rep], unit_id: str, day: date
) -> list[str]:
    """Reps belonging to the unit or below it on the day."""
    tree = subtree(units, unit_id)
    return sorted(r.rep_id for r in reps.values() if unit_on(r, day) in tree)


def parent_scope(
    scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep], day: date
) -> Scope | None:
    """The next scope up: a rep's unit on the day, a unit's parent, the company; None above."""
    if scope.kind == "rep":
        rep = reps.get(scope.id or "")
        unit = unit_on(rep, day) if rep else None
        return Scope("unit", unit) if unit else Scope("company")
    if scope.kind == "unit":
        unit_def = units.get(scope.id or "")
        parent = unit_def.parent_id if unit_def else None
        return Scope("unit", parent) if parent else Scope("company")
    return None


def peer_scopes(
    scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep], day: date
) -> list[Scope]:
    """Comparable scopes: sibling units of a unit, the other reps of a rep's unit on the day."""
    sid = scope.id or ""
    if scope.kind == "unit" and sid in units:
        parent = units[sid].parent_id
        return [
            Scope("unit", u.unit_id)
            for u in units.values()
            if u.parent_id == parent and u.unit_id != scope.id and parent is not None
        ]
    if scope.kind == "rep" and sid in reps:
        unit = unit_on(reps[sid], day)
        if unit is None:
            return []
        return [
            Scope("rep", r.rep_id)
            for r in reps.values()
            if r.rep_id != scope.id and unit_on(r, day) == unit
        ]
    return []


class ScopeFilter:
    """Whether a rep's activity on a day counts for a scope (membership at event time)."""

    def __init__(self, scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep]) -> None:
        self.scope = scope
        self.tree = subtree(units, scope.id or "") if scope.kind == "unit" else set()
        self.changes = {r.rep_id: unit_changes(r) for r in reps.values()} if self.tree else {}

    def __call__(self, rep_id: str | None, day: date) -> bool:
        if self.scope.kind == "company":
            return True
        if self.scope.kind == "rep":
            return rep_id == self.scope.id
        unit: str | None = None
        for since, unit_id in self.changes.get(rep_id or "", ()):
            if since > day:
                break
            unit = unit_id
        return unit in self.tree


def scope_reps(
    scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep], start: date, end: date
) -> list[str] | None:
    """Reps who count for the scope on some day in [start, end); None means everyone."""
    if scope.kind == "company":
        return None
    return sorted({s.rep_id for s in scope_spans(scope, units, reps, start, end)})
