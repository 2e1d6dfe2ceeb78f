"""Across time: a period's child periods (quarters, months, ISO weeks, days) and their weights.

ISO weeks that straddle the parent's boundary (rule): a week belongs to every parent it has
days in, and its slice holds only those days. Splitting 2026-11 into weeks gives 2026-W44
(just Sunday 1 November) up to 2026-W49 (just Monday 30 November); the target of 2026-W44 is
November's part of that week, nothing of October's. The children therefore tile the parent
exactly and add up to it exactly. Because a later TargetSet for the same scope, metric and
period replaces an earlier one, splitting both October and November into weeks leaves
2026-W44 with whichever split was published last; each straddling week is reported in the
plan's warnings, and a split of the coarser parent (the quarter or the year) avoids it.

Weights per child slice, by mode:
- ``even``: 1 per whole child; a straddling week counts for the share of its days inside the
  parent (1 day of 7 -> 1/7), so a week is never worth more than the days it covers;
- ``weights``: the given weight per child, in order, scaled the same way for straddling weeks;
- ``days``: calendar days inside the parent;
- ``working-days``: days inside the parent that are neither weekend days (ISO weekdays,
  Saturday and Sunday by default) nor in the holiday list.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from projections.model.calendar import KIND_RANK, TimeSlice, child_slices
from projections.targets.decomposition.errors import DecompositionError
from schemas.periods import Period, PeriodKind

TimeBy = Literal["even", "weights", "days", "working-days"]


def time_slices(parent: Period, kind: PeriodKind) -> list[TimeSlice]:
    """The child periods of `kind` that cover the parent, in time order, cut to the parent."""
    if KIND_RANK[kind] <= KIND_RANK[parent.kind]:
        raise DecompositionError(
            f"cannot split the {parent.kind} {parent.text} into {kind}s: "
            f"the children must be a finer kind of period than the parent"
        )
    return child_slices(parent, kind)


def working_days(
    start: date, end: date, holidays: Collection[date], weekend: Collection[int]
) -> int:
    """Days in [start, end) that are not weekend days (ISO weekday numbers) nor holidays."""
    return sum(
        1
        for n in range((end - start).days)
        if (d := start + timedelta(days=n)).isoweekday() not in weekend and d not in holidays
    )


def time_weights(
    slices: Sequence[TimeSlice],
    by: TimeBy,
    weights: Sequence[Decimal] = (),
    holidays: Collection[date] = (),
    weekend: Collection[int] = (6, 7),
) -> list[Fraction]:
    """One weight per slice for the given mode (see the module docstring)."""
    if by == "days":
        return [Fraction(s.days) for s in slices]
    if by == "working-days":
        found = [Fraction(working_days(s.start, s.end, holidays, weekend)) for s in slices]
        if not any(found):
            raise DecompositionError("the parent period has no working days to split by")
        return found
    if by == "weights":
        if len(weights) != len(slices):
            labels = ", ".join(s.period.text for s in slices)
            raise DecompositionError(
                f"{len(weights)} weight(s) given for {len(slices)} children ({labels})"
            )
        per_child = [Fraction(w) for w in weights]
    else:
        per_child = [Fraction(1)] * len(slices)
    # A straddling week is weighted by the part of it inside the parent.
    return [w * Fraction(s.days, s.period.days) for w, s in zip(per_child, slices, strict=True)]


def straddle_warnings(parent: Period, slices: Sequence[TimeSlice]) -> list[str]:
    """One line per child that lies only partly inside the parent (see the module docstring)."""
    return [
        f"{s.period.text} straddles {parent.text}: its target covers only the {s.days} day(s) "
        f"{s.start.isoformat()}..{(s.end - timedelta(days=1)).isoformat()} inside "
        f"{parent.text}; a split of the neighbouring period would replace it"
        for s in slices
        if s.straddles
    ]
