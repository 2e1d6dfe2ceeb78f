"""Down the organisation: a unit's (or the company's) target to its child units or its reps.

The children are explicit scopes (`unit:<id>` or `rep:<id>`), in the order the caller gives;
that order breaks rounding ties (see rounding.py), so callers should pass a stable order
(e.g. sorted ids). Weights per child, by mode:
- ``even``: 1 each;
- ``weights``: the given weight per child, in order;
- ``share``: the child's actual of the same metric in a reference period, as a mapping
  child scope -> actual that the caller fetched from the projections (source.py does it for
  a ReadModel). A child missing from the mapping had no actual: weight 0. When no child has
  any actual there is nothing to share by, and the split is refused rather than silently
  made even.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from projections.targets.decomposition.errors import DecompositionError
from schemas.periods import ScopeError, parse_scope

OrgInto = Literal["children", "reps"]
OrgBy = Literal["even", "weights", "share"]


def check_children(parent_scope: str, into: OrgInto, children: Sequence[str]) -> None:
    """Refuse children that are not distinct scopes of the right kind below a unit scope."""
    parent = parse_scope(parent_scope)
    if parent.kind == "rep":
        raise DecompositionError(f"{parent_scope} is a rep: a rep's target has no org children")
    if not children:
        raise DecompositionError(f"no children given to split {parent_scope} into")
    want = "unit" if into == "children" else "rep"
    for child in children:
        try:
            kind = parse_scope(child).kind
        except ScopeError as exc:
            raise DecompositionError(str(exc)) from exc
        if kind != want:
            raise DecompositionError(
                f"child {child!r} is not a {want} scope ('{want}:<id>'), as --into {into} needs"
            )
        if child == parent_scope:
            raise DecompositionError(f"{child} cannot be a child of itself")
    duplicates = sorted({c for c in children if children.count(c) > 1})
    if duplicates:
        raise DecompositionError(f"children listed more than once: {', '.join(duplicates)}")


def org_weights(
    children: Sequence[str],
    by: OrgBy,
    weights: Sequence[Decimal] = (),
    shares: Mapping[str, Decimal] | None = None,
) -> list[Fraction]:
    """One weight per child for the given mode (see the module docstring)."""
    if by == "even":
        return [Fraction(1)] * len(children)
    if by == "weights":
        if len(weights) != len(children):
            raise DecompositionError(f"{len(weights)} weight(s) given for {len(children)} children")
        return [Fraction(w) for w in weights]
    shares = shares or {}
    unknown = sorted(set(shares) - set(children))
    if unknown:
        raise DecompositionError(f"shares given for scopes that are not children: {unknown}")
    found = [Fraction(shares.get(c, Decimal(0))) for c in children]
    if any(f < 0 for f in found):
        raise DecompositionError("a reference actual is negative, so it cannot be a share")
    if not any(found):
        raise DecompositionError(
            "no child has any actual in the reference period, so there is no share to split "
            "by; split evenly or by weights instead"
        )
    return found
