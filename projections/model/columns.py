"""Activity-only events folded a column at a time: the bulk build's path for scanned rows.

schemas.native's C reader turns a batch of calls, visits and leads into rows of plain values
(`DATA_AT` says where the data fields start). `ColumnFold.fold` merges a batch of such rows,
already de-duplicated, into an Aggregate with the same cells `Aggregate.fold_activity` gives
record by record — the activity counts, and each count metric's value and reached-at — but
computes them per type and per column with C-level builtins (`zip`, `map`, `Counter`, one
sort) instead of one Python call chain per event: most of the replay's per-event CPU was
that chain (bench/README.md, "Replay: the activity path in C").

Only count metrics are folded here (`eligible`): a type with a summed field (its value read
and converted per event) stays on the per-record path. A batch whose conditions raise (a KPI
file comparing a text field with a number) is handed back before anything is merged, so the
caller folds it record by record and counts the refusals as it always has.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import compress, repeat
from typing import Any

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.fold import (
    _COMPARE,
    _HOUR_US,
    _ONE,
    ACTIVITY_ONLY,
    ENTITY_METRIC_EVENTS,
    LocalDays,
)
from schemas.codec import offset_tz
from schemas.trusted import _instant

Row = tuple[Any, ...]
Test = tuple[int, str, Callable[[Any, Any], bool], Any]  # column, op, compare, value
_EQUALITY = frozenset({"=", "==", "!="})


def eligible(ctx: FoldContext, types: Iterable[str]) -> frozenset[str]:
    """The activity-only types among `types` whose metrics are all counts."""
    return frozenset(
        t
        for t in types
        if t in ACTIVITY_ONLY
        and t not in ENTITY_METRIC_EVENTS
        and all(m.field is None for m in ctx.kpis.by_event.get(t, ()))
    )


class _Plan:
    """One type's fold: where its subkind is, and per count metric its tests and weights."""

    def __init__(self, ctx: FoldContext, type_: str, fields: Sequence[str], data_at: int) -> None:
        column = {name: data_at + i for i, name in enumerate(fields)}
        self.activity, subkind = ACTIVITY_ONLY[type_]
        self.subkind = column[subkind]
        self.metrics: list[tuple[str, list[Test], list[tuple[Test, Decimal]]]] = []
        for m in ctx.kpis.by_event.get(type_, ()):
            assert m.field is None, f"{m.name}: a summed metric (not eligible)"
            tests = [(column[c.field], c.op, _COMPARE[c.op], c.value) for c in m.where]
            weights = [
                ((column[w.condition.field], w.condition.op, _COMPARE[w.condition.op],
                  w.condition.value), w.factor)
                for w in m.weights
            ]  # fmt: skip
            self.metrics.append((m.name, tests, weights))


class ColumnFold:
    """Scanned rows of `types` (a row's type index is its place in it) into an Aggregate."""

    def __init__(
        self,
        ctx: FoldContext,
        types: Sequence[str],
        fields: Mapping[str, Sequence[str]],
        data_at: int,
        days: LocalDays,
    ) -> None:
        self.types, self.days = tuple(types), days
        self.plans = [_Plan(ctx, t, fields[t], data_at) for t in self.types]

    def fold(self, aggregate: Aggregate, rows: list[Row]) -> list[Row]:
        """Merge `rows` (de-duplicated, in log order) into `aggregate`; returns the rows of the
        types whose fold raised, merged not at all (the caller folds those record by record)."""
        by_type: list[list[Row]] = [[] for _ in self.types]
        for row in rows:
            by_type[row[0]].append(row)
        refused: list[Row] = []
        for plan, of_type in zip(self.plans, by_type, strict=True):
            if not of_type:
                continue
            try:
                change = self._cells(plan, of_type)
            except Exception:  # as fold_activity would raise: nothing of the type merged
                refused += of_type
                continue
            self._merge(aggregate, plan, *change)
        refused.sort(key=operator.itemgetter(1))
        return refused

    def _cells(self, plan: _Plan, rows: list[Row]) -> tuple[Any, ...]:
        """The type's activity counts and per metric its sums and last instants, computed
        before anything is merged (so that a raise leaves the aggregate as it was)."""
        # In time order, ties in reverse arrival: a dict built from them keeps per key the
        # latest instant, the first arrived among equals (what `at > cell[1]` keeps).
        rows.reverse()
        rows.sort(key=operator.itemgetter(3))
        cols = list(zip(*rows, strict=True))
        us, offsets, reps = cols[3], cols[4], cols[5]
        if None in reps:
            reps = tuple(r or "" for r in reps)
        keys = list(zip(reps, self._days(us), strict=True))  # (rep, local day) per row
        ats = list(zip(us, offsets, strict=True))
        activities = Counter(zip(keys, cols[plan.subkind], strict=True))
        metrics = []
        for name, tests, weights in plan.metrics:
            mask = None
            for test in tests:
                hit = _column_test(cols, test)
                mask = hit if mask is None else list(map(operator.and_, mask, hit))
            if weights:
                # The value of a row: 1 times the factor of each weight that holds, in order.
                matched = list(zip(*[_column_test(cols, t) for t, _ in weights], strict=True))
                units = {m: _unit(m, weights) for m in set(matched)}
                values = list(map(units.__getitem__, matched))
                nonzero = list(map(bool, values))  # a zero adds nothing, moves no reached-at
                mask = nonzero if mask is None else list(map(operator.and_, mask, nonzero))
                sums = _sum_by_key(keys, values, mask)
            else:
                sums = Counter(keys if mask is None else compress(keys, mask))
            last = dict(
                zip(keys, ats, strict=True)
                if mask is None
                else compress(zip(keys, ats, strict=True), mask)
            )
            metrics.append((name, sums, last))
        return activities, metrics

    @staticmethod
    def _merge(aggregate: Aggregate, plan: _Plan, activities: Counter[Any], metrics: Any) -> None:
        cells, kind = aggregate.activities, plan.activity  # as Aggregate.fold_activity
        for ((rep, day), sub), n in activities.items():
            cell = cells.get((rep, day, kind, sub))
            if cell is None:
                cells[(rep, day, kind, sub)] = [n, Decimal(0)]
            else:
                cell[0] += n
        metric_cells = aggregate.metrics  # Aggregate.add_metrics, a key at a time
        for name, sums, last in metrics:
            for (rep, day), value in sums.items():
                t_us, offset = last[(rep, day)]
                # A count n is the sum of n ones: Decimal(n), as the record path's additions.
                amount = _ONE * value if isinstance(value, int) else value
                at = _instant(t_us, offset_tz(offset))
                cell = metric_cells.get((name, rep, day))
                if cell is None:
                    metric_cells[(name, rep, day)] = [amount, at]
                else:
                    cell[0] += amount
                    if at > cell[1]:
                        cell[1] = at

    def _days(self, us: Sequence[int]) -> list[Any]:
        hours = list(map(operator.floordiv, us, repeat(_HOUR_US)))
        known = self.days.hours
        for hour in set(hours).difference(known):
            self.days(hour * _HOUR_US)
        days = list(map(known.__getitem__, hours))
        if None in days:  # an hour holding a local midnight: instant by instant
            days = [d if d is not None else self.days(u) for d, u in zip(days, us, strict=True)]
        return days


def _column_test(cols: list[tuple[Any, ...]], test: Test) -> list[bool]:
    """fold._test over a column: equality holds or not for None; an ordered comparison with
    a missing (None) optional value is false, not an error."""
    at, op_name, compare, value = test
    column = cols[at]
    if op_name in _EQUALITY or None not in column:
        return list(map(compare, column, repeat(value)))
    return [v is not None and compare(v, value) for v in column]


def _unit(matched: tuple[bool, ...], weights: list[tuple[Test, Decimal]]) -> Decimal:
    value = _ONE
    for hit, (_, factor) in zip(matched, weights, strict=True):
        if hit:
            value *= factor
    return value


def _sum_by_key(keys: list[Any], values: list[Decimal], mask: list[bool]) -> dict[Any, Any]:
    counts = Counter(compress(zip(keys, values, strict=True), mask))  # (key, unit) -> rows
    sums: dict[Any, Decimal] = {}
    for (key, unit), n in counts.items():
        value = unit * n
        sums[key] = sums[key] + value if key in sums else value
    return sums
