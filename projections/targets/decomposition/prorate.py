"""Pro-rating: a child present for only part of the period gets that part of its share.

A rep who joins on the 11th of a 30-day month is in the unit 20 of 30 days and gets 20/30 of
the target an even (or weighted, or by-share) split would give them for the full month. The
days come from the child's membership intervals [start, end) (end exclusive: the day a rep
leaves or transfers out is no longer theirs, as in projections/scopes.py); several intervals
are allowed (left and came back) and overlaps count once.

The pro-rated-away remainder (rule): it stays UNALLOCATED at the parent. It is not spread
over the other children, because their targets should not rise because someone else joined
late; the parent's own target is unchanged, and the plan reports the unallocated amount so a
lead can hand it out explicitly (e.g. a second split by weights). Exactness then reads:
sum(children) + unallocated == parent, exactly. The rounding is one largest-remainder split
over [unallocated, child 1, ..., child n] with the unallocated bucket first, so it loses every
tie: a spare cent goes to a person rather than staying unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from projections.targets.decomposition.rounding import allocate_units, as_amount, units_of
from schemas.periods import Period


@dataclass(frozen=True)
class Presence:
    """Days [start, end) a child belongs to the parent; None means open on that side."""

    start: date | None = None
    end: date | None = None


def days_present(stays: Sequence[Presence], period: Period) -> int:
    """Days of the period covered by at least one of the intervals."""
    days: set[date] = set()
    for stay in stays:
        lo = max(stay.start or period.start, period.start)
        hi = min(stay.end or period.end, period.end)
        days.update(lo + timedelta(days=n) for n in range((hi - lo).days))
    return len(days)


def prorated_allocation(
    total: Decimal,
    weights: Sequence[Fraction],
    present: Sequence[int],
    period_days: int,
    quantum: Decimal,
) -> tuple[list[Decimal], Decimal]:
    """Each child's share times present/period days, and what stays unallocated at the parent."""
    # Child i's exact share is total * w_i / W * d_i / D; everything else is unallocated, so
    # over the common denominator W * D the buckets weigh w_i * d_i and sum(w_i * (D - d_i)).
    children = [w * d for w, d in zip(weights, present, strict=True)]
    rest = sum((w * (period_days - d) for w, d in zip(weights, present, strict=True)), Fraction(0))
    parts = allocate_units(units_of(total, quantum), [rest, *children])
    return [as_amount(p, quantum) for p in parts[1:]], as_amount(parts[0], quantum)
