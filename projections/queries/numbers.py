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


def plain(value: Decimal) -> str:
    """A decimal string without exponent or padding zeros: 500.2500 -> "500.25", 1E+3 -> "1000".

    Amounts travel at the wire scale (4 places); people and JSON clients get the exact value
    in its shortest fixed-point form.
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
