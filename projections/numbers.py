"""Decimal helpers for query results: exact ratios rounded once, at the edge."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from statistics import median

FOUR = Decimal("0.0001")
TWO = Decimal("0.01")


def q(value: Decimal, quantum: Decimal = FOUR) -> Decimal:
    """Round half-even to `quantum` (4 places by default, the wire scale of amounts)."""
    return value.quantize(quantum, rounding=ROUND_HALF_EVEN)


def ratio(num: Decimal | int, den: Decimal | int, quantum: Decimal = FOUR) -> Decimal | None:
    """num / den rounded, or None when the denominator is zero."""
    if not den:
        return None
    return q(Decimal(num) / Decimal(den), quantum)


def ceil_to(value: Decimal, quantum: Decimal = TWO) -> Decimal:
    """Round up: a requirement is never understated."""
    return value.quantize(quantum, rounding=ROUND_CEILING)


def ceil_int(value: Decimal) -> int:
    """The smallest integer >= value."""
    return math.ceil(value)


def median_of(values: Sequence[Decimal]) -> Decimal | None:
    """The median, or None for no values."""
    return Decimal(median(values)) if values else None
