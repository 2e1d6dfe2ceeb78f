"""The funnel numbers of one scope: what the funnel query computes and the diagnosis compares."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class StageLine:
    """Open deals in one stage as of the instant."""

    stage: str
    probability: Decimal
    open_count: int
    open_amount: Decimal
    weighted_amount: Decimal


@dataclass(frozen=True)
class Conversion:
    """Of the deals entering `from_stage` in the period, how many went on (to_stage or later)."""

    from_stage: str
    to_stage: str
    entered: int
    converted: int
    rate: Decimal | None


@dataclass(frozen=True)
class StalledDeal:
    """An open deal longer in its stage than the configured limit."""

    opportunity_id: str
    rep_id: str | None
    stage: str
    days_in_stage: int
    limit_days: int
    amount: Decimal | None


@dataclass(frozen=True)
class FunnelStats:
    """The funnel numbers of one scope (also computed for each peer)."""

    new_opportunities: int
    open_count: int
    open_amount: Decimal
    stages: tuple[StageLine, ...]
    conversions: tuple[Conversion, ...]
    won: int
    lost: int
    win_rate: Decimal | None  # won / (won + lost), closed in the period
    won_amount: Decimal
    avg_deal_size: Decimal | None
    avg_cycle_days: Decimal | None  # created -> won, in days
    velocity_per_month: Decimal | None  # open x win rate x avg deal size / cycle days x 30
    stalled: tuple[StalledDeal, ...]
