"""Deals as of an instant: stage, time in stage and the probability-weighted open pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions, MetricDef
from projections.model.readmodel import Opportunity
from schemas.periods import Period

TERMINAL = ("won", "lost")


@dataclass(frozen=True)
class DealAsOf:
    """A deal reconstructed from its stage history as of an instant."""

    opp: Opportunity
    created_at: datetime
    stage: str | None  # the last open stage entered before the instant
    stage_since: datetime | None
    outcome: str | None  # won or lost before the instant, else None (open)
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.outcome is None


def deal_as_of(opp: Opportunity, as_of: datetime) -> DealAsOf | None:
    """The deal's state from history entries strictly before `as_of` (None: not yet created)."""
    seen = [h for h in opp.history if h.entered_at < as_of]
    if not seen:
        return None
    stage = since = outcome = closed = None
    for h in seen:  # sorted by (entered_at, event_id): the latest of each kind wins
        if h.stage in TERMINAL:
            outcome, closed = h.stage, h.entered_at
        else:
            stage, since = h.stage, h.entered_at
    created = opp.created_at if opp.created_at and opp.created_at < as_of else seen[0].entered_at
    return DealAsOf(opp, created, stage, since, outcome, closed)


def deals_as_of(opps: Sequence[Opportunity], as_of: datetime) -> list[DealAsOf]:
    """Every deal created before `as_of`, in its state at that instant."""
    return [d for o in opps if (d := deal_as_of(o, as_of)) is not None]


def open_in_scope(
    deals: Sequence[DealAsOf], in_scope: Callable[[str | None, date], bool], day: date
) -> list[DealAsOf]:
    """Open deals whose owner counts for the scope on the day (the as-of day)."""
    return [d for d in deals if d.is_open and in_scope(d.opp.rep_id, day)]


def weighted_pipeline(
    deals: Sequence[DealAsOf], metric: MetricDef, kpis: KpiDefinitions, period: Period
) -> Decimal:
    """Open deals expected to close in the period, weighted by their stage's win probability.

    A sum metric adds amount x probability, a count metric adds the probability (expected
    wins). Metric conditions are not applied to deals: they describe the closing event.
    """
    total = Decimal(0)
    for d in deals:
        close = d.opp.expected_close
        if d.stage is None or close is None or not period.contains(close):
            continue
        p = kpis.probabilities.get(d.stage, Decimal(0))
        total += p if metric.measure == "count" else (d.opp.amount or Decimal(0)) * p
    return total


def local_day(at: datetime, tz: tzinfo) -> date:
    """The org-local day of an instant."""
    return at.astimezone(tz).date()
