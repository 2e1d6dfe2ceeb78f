"""The split request (what to decompose, into what, by what) and its deterministic identity.

A request is a pydantic model so the CLI and `POST /api/targets/split` validate it the same
way. Its decomposition_id is given explicitly, or derived: uuid5 over the request's canonical
JSON (keys sorted, no whitespace, decimals normalised so 1000000 and 1000000.00 agree,
holidays sorted, mappings by key). The same request therefore always has the same id, and
so do its events (see plan.py). Child order is kept: it is part of the request because it
breaks rounding ties.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID, uuid5

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from projections.targets.decomposition.prorate import Presence
from projections.targets.decomposition.rounding import Quantity
from schemas.money import ISO_4217, Money, to_decimal
from schemas.periods import PeriodKind, parse_period, parse_scope

Into = Literal["quarters", "months", "weeks", "days", "children", "reps"]
By = Literal["even", "weights", "days", "working-days", "share"]

TIME_INTO: dict[str, PeriodKind] = {
    "quarters": "quarter",
    "months": "month",
    "weeks": "week",
    "days": "day",
}
_TIME_BY = frozenset({"even", "weights", "days", "working-days"})
_ORG_BY = frozenset({"even", "weights", "share"})


def _non_negative(v: Decimal) -> Decimal:
    if v < 0:
        raise ValueError("must not be negative")
    return v


# A weight or reference actual: any non-negative decimal (1/3 written as 0.333333 is fine).
Weight = Annotated[Decimal, BeforeValidator(to_decimal), AfterValidator(_non_negative)]

# Fixed namespace of derived decomposition ids; changing it would change every derived id.
DECOMPOSITION_NAMESPACE = UUID("5d0c3a1e-7b2f-5c1d-9e57-3a7d1c0b9f42")


class SplitRequest(BaseModel):
    """Decompose the target (scope, metric, period, value) into children's targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: str
    metric: str = Field(min_length=1, max_length=200)
    period: str
    value: Money
    into: Into
    by: By = "even"
    # Org splits: child scopes in tie-breaking order; weights follow the children (or slices).
    children: tuple[str, ...] = ()
    weights: tuple[Weight, ...] = ()
    shares: dict[str, Weight] = Field(default_factory=dict)  # child -> reference actual
    reference_period: str | None = None  # where the shares came from (recorded, not read)
    holidays: tuple[date, ...] = ()
    weekend: tuple[int, ...] = (6, 7)  # ISO weekdays that are not working days
    prorate: bool = False
    presence: dict[str, tuple[Presence, ...]] = Field(default_factory=dict)  # absent: all days
    quantity: Quantity = "money"
    currency: str = "USD"
    decomposition_id: UUID | None = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str) -> str:
        parse_scope(v)
        return v

    @field_validator("period", "reference_period")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None:
            parse_period(v)
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v not in ISO_4217:
            raise ValueError(f"{v!r} is not an ISO 4217 currency code")
        return v

    @field_validator("weekend")
    @classmethod
    def _weekend(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 or d > 7 for d in v):
            raise ValueError("weekend days are ISO weekday numbers 1 (Monday) to 7 (Sunday)")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _mode_fits(self) -> SplitRequest:
        allowed = _TIME_BY if self.is_time_split else _ORG_BY
        if self.by not in allowed:
            raise ValueError(
                f"--by {self.by} does not apply to a split into {self.into} "
                f"(use one of: {', '.join(sorted(allowed))})"
            )
        if self.is_time_split and (self.children or self.prorate or self.presence):
            raise ValueError("children, prorate and presence apply only to org splits")
        if self.presence and not self.prorate:
            raise ValueError("presence is given but prorate is off")
        strangers = sorted(set(self.presence) - set(self.children))
        if strangers:
            raise ValueError(f"presence given for scopes that are not children: {strangers}")
        if self.by == "weights" and not self.weights:
            raise ValueError("--by weights needs the weights")
        if self.by != "weights" and self.weights:
            raise ValueError("weights are given but --by is not weights")
        if self.by != "share" and self.shares:
            raise ValueError("shares are given but --by is not share")
        return self

    @property
    def is_time_split(self) -> bool:
        return self.into in TIME_INTO

    def canonical_json(self) -> str:
        """The request as canonical JSON, without decomposition_id (the input of derive_id)."""
        body = self.model_dump(mode="python", exclude={"decomposition_id"})
        body["holidays"] = sorted(set(self.holidays))
        return json.dumps(_canonical(body), sort_keys=True, separators=(",", ":"))

    def resolved_id(self) -> UUID:
        """The explicit decomposition_id, or one derived from the canonical request."""
        return self.decomposition_id or uuid5(DECOMPOSITION_NAMESPACE, self.canonical_json())


def _canonical(value: Any) -> Any:
    """JSON-able form in which equal values are equal text (Decimal 1E+6 == 1000000.00)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value
