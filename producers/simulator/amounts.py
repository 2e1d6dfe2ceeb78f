"""Money as integer cents: exact splits that add up to the whole, and decimal-string output."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.money import minor_unit

_WEIGHT_SCALE = 1_000_000


def allocate(total: int, weights: Sequence[float], quantum: int = 1) -> list[int]:
    """Split `total` by `weights` in steps of `quantum` (largest remainder, ties to the first).

    The parts always sum to `total`; weights become integers first, so the result does not
    depend on float rounding.
    """
    if not weights:
        return []
    units = total // quantum
    ints = [max(0, round(w * _WEIGHT_SCALE)) for w in weights]
    if sum(ints) == 0:
        ints = [1] * len(ints)
    whole = sum(ints)
    parts = [units * w // whole for w in ints]
    order = sorted(range(len(ints)), key=lambda i: (-(units * ints[i] % whole), i))
    for i in order[: units - sum(parts)]:
        parts[i] += 1
    result = [p * quantum for p in parts]
    result[-1] += total - units * quantum  # a sub-quantum remainder is not lost either
    return result


def quantum(currency: str) -> int:
    """Smallest payable step in cents: 100 for currencies without minor units (JPY)."""
    return {0: 100, 1: 10}.get(minor_unit(currency), 1)


def cents(value: int) -> str:
    """12345 -> '123.45' (amounts are never negative here)."""
    return f"{value // 100}.{value % 100:02d}"
