"""Calendar maths of periods: how a period is tiled by the finer periods inside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from schemas.periods import Period, PeriodKind, period_containing

# Coarse to fine: a parent can be tiled by any strictly finer kind.
KIND_RANK: dict[PeriodKind, int] = {"year": 0, "quarter": 1, "month": 2, "week": 3, "day": 4}


@dataclass(frozen=True)
class TimeSlice:
    """A child period and the days [start, end) of it that lie inside the parent."""

    period: Period
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def straddles(self) -> bool:
        return self.days < self.period.days


def child_slices(parent: Period, kind: PeriodKind) -> list[TimeSlice]:
    """The periods of a finer `kind` that cover the parent, in time order, cut to the parent.

    An ISO week straddling the parent's boundary gives only the days inside the parent.
    """
    if KIND_RANK[kind] <= KIND_RANK[parent.kind]:
        raise ValueError(f"a {kind} is not finer than the {parent.kind} {parent.text}")
    slices: list[TimeSlice] = []
    day = parent.start
    while day < parent.end:
        child = period_containing(day, kind)
        end = min(child.end, parent.end)
        slices.append(TimeSlice(child, day, end))
        day = end
    return slices
