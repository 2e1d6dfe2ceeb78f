"""Exact allocation: split an amount into parts on a quantum grid that add up to it exactly.

Rule (largest remainder, Hamilton's method):

1. The total is counted in quanta (cents for USD, whole yen for JPY, 1 for counts); it must be
   a whole number of quanta, or no rounding could make the parts add up to it.
2. Every part first gets the floor of its exact share ``units * weight / sum(weights)``.
3. The quanta left over (fewer than the number of parts) go one each to the parts with the
   largest fractional remainders.
4. Ties in the remainder go to the LATER part in the given order. So 100,000.00 over three
   equal weights is 33,333.33 / 33,333.33 / 33,333.34, and callers that put a bucket they
   would rather not favour first (e.g. the pro-rated-away remainder) make it lose ties.

Consequences that the tests check: the parts always sum to the total; each part is within one
quantum of its exact share; a zero weight always gets zero; the result depends only on the
values and order of the inputs. Arithmetic is exact: Decimal weights become Fractions (exact
rationals, never floats) so no weight is rounded before the split.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from projections.targets.decomposition.errors import DecompositionError
from schemas.money import minor_unit

Quantity = Literal["money", "count"]


def quantum_of(quantity: Quantity, currency: str) -> Decimal:
    """The smallest step of a target: the currency's minor unit for money, 1 for counts."""
    if quantity == "count":
        return Decimal(1)
    return Decimal(1).scaleb(-minor_unit(currency))


def units_of(total: Decimal, quantum: Decimal) -> int:
    """`total` as a whole number of quanta; DecompositionError when it is not one."""
    exact = Fraction(total) / Fraction(quantum)
    if exact.denominator != 1:
        raise DecompositionError(
            f"value {total} is not a whole multiple of {quantum}: a split into parts of "
            f"{quantum} could not add up to it exactly"
        )
    return int(exact)


def allocate_units(units: int, weights: Sequence[Fraction]) -> list[int]:
    """Split `units` whole quanta by `weights` (largest remainder, ties to the later part)."""
    if any(w < 0 for w in weights):
        raise DecompositionError("weights must not be negative")
    whole = sum(weights, Fraction(0))
    if whole == 0:
        raise DecompositionError("the weights add up to zero, so there is nothing to split by")
    shares = [units * w / whole for w in weights]
    parts = [s.numerator // s.denominator for s in shares]
    left = units - sum(parts)
    # Largest remainder first; among equal remainders the later index first (ties to the last).
    order = sorted(range(len(shares)), key=lambda i: (shares[i] - parts[i], i), reverse=True)
    for i in order[:left]:
        parts[i] += 1
    return parts


def allocate(
    total: Decimal, weights: Sequence[Decimal | Fraction], quantum: Decimal
) -> list[Decimal]:
    """Split `total` by `weights` into multiples of `quantum` that sum to `total` exactly."""
    units = units_of(total, quantum)
    parts = allocate_units(units, [Fraction(w) for w in weights])
    return [as_amount(p, quantum) for p in parts]


def as_amount(units: int, quantum: Decimal) -> Decimal:
    """A whole number of quanta as a Decimal written with the quantum's places (33333.33)."""
    return (Decimal(units) * quantum).quantize(quantum)
