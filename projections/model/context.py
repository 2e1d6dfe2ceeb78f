"""The fold's context: KPI definitions, organisation time zone, base currency and FX rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from projections.model.kpi import KpiDefinitions, default_kpis
from schemas.money import AMOUNT_SCALE

_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)


class FxRateMissing(ValueError):
    """An amount in a currency for which no rate to the base currency is configured."""


@dataclass(frozen=True)
class FoldContext:
    """Everything the pure fold needs besides the event; passed explicitly, never read from env.

    `fx_rates[c]` is the value of one unit of currency `c` in the base currency
    (e.g. base USD, ``{"EUR": Decimal("1.08")}``).
    """

    kpis: KpiDefinitions
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    base_currency: str = "USD"
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def to_base(self, amount: Decimal, currency: str | None) -> Decimal:
        """Convert to the base currency, rounded to the wire scale so sums stay exact."""
        if currency is None or currency == self.base_currency:
            return amount
        rate = self.fx_rates.get(currency)
        if rate is None:
            raise FxRateMissing(
                f"no exchange rate from {currency} to {self.base_currency} is configured"
            )
        return (amount * rate).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def default_context() -> FoldContext:
    """Version-1 KPIs in UTC with USD as the base currency and no rates (tests, tools)."""
    return FoldContext(default_kpis())
