"""Funnel diagnosis: where a scope's funnel is weak compared with the median of its peers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from projections.queries.funnel_stats import FunnelStats
from projections.queries.numbers import median_of, ratio

# A number is "weak" below 70 % of the peer median (or "long" above 130 % for cycle length):
# wide enough that ordinary noise between reps of one team does not trigger it.
WEAK = Decimal("0.7")
LONG = Decimal("1.3")
# Rates need a few observations before they say anything.
MIN_SAMPLE = 3
# Deals "stall in a stage" when at least 2 and 30 % of the stage's open deals are stalled and
# the share is above the peers' median share.
STALL_MIN = 2
STALL_SHARE = Decimal("0.3")


@dataclass(frozen=True)
class DiagnosisItem:
    """One finding with the numbers behind it."""

    code: str  # few_new_opportunities, low_conversion, low_win_rate, small_deals, ...
    message: str
    stage: str | None
    value: Decimal | None
    peer_median: Decimal | None
    ratio: Decimal | None  # value / peer_median
    peers: int


def _pct(x: Decimal) -> str:
    return f"{x * 100:.0f} %"


def _weak(
    code: str,
    what: str,
    value: Decimal | None,
    peers: Sequence[Decimal | None],
    label: str,
    stage: str | None = None,
    long: bool = False,
) -> DiagnosisItem | None:
    known = [p for p in peers if p is not None]
    median = median_of(known)
    if value is None or not median:
        return None
    r = ratio(value, median)
    if r is None or (r <= LONG if long else r >= WEAK):
        return None
    message = f"{what}: {value.normalize():f} versus the median of {label} {median.normalize():f}"
    return DiagnosisItem(code, f"{message} ({_pct(r)})", stage, value, median, r, len(known))


def diagnose(own: FunnelStats, peers: Sequence[FunnelStats], label: str) -> list[DiagnosisItem]:
    """Findings ordered from the top of the funnel to the bottom; peers may be empty."""
    items: list[DiagnosisItem | None] = []
    if peers:
        items.append(
            _weak(
                "few_new_opportunities",
                "few new opportunities",
                Decimal(own.new_opportunities),
                [Decimal(p.new_opportunities) for p in peers],
                label,
            )
        )
        for i, c in enumerate(own.conversions):
            if c.entered >= MIN_SAMPLE:
                what = f"conversion from {c.from_stage} to {c.to_stage}"
                rates = [p.conversions[i].rate for p in peers]
                items.append(_weak("low_conversion", what, c.rate, rates, label, c.from_stage))
        if own.won + own.lost >= MIN_SAMPLE:
            rates = [p.win_rate for p in peers]
            items.append(_weak("low_win_rate", "win rate", own.win_rate, rates, label))
        sizes = [p.avg_deal_size for p in peers]
        items.append(_weak("small_deals", "average deal size", own.avg_deal_size, sizes, label))
        cycles = [p.avg_cycle_days for p in peers]
        items.append(
            _weak("long_cycle", "sales cycle (days)", own.avg_cycle_days, cycles, label, long=True)
        )
    for line in own.stages:
        stalled = sum(1 for s in own.stalled if s.stage == line.stage)
        share = ratio(stalled, line.open_count)
        shares = [_stall_share(p, line.stage) for p in peers]
        median = median_of([s for s in shares if s is not None]) or Decimal(0)
        if stalled >= STALL_MIN and share is not None and share >= STALL_SHARE and share > median:
            message = (
                f"deals stall in {line.stage}: {stalled} of {line.open_count} open "
                f"({_pct(share)}) versus {_pct(median)} for {label}"
            )
            items.append(
                DiagnosisItem(
                    "stalls", message, line.stage, share, median, ratio(share, median), len(peers)
                )
            )
    return [i for i in items if i is not None]


def _stall_share(stats: FunnelStats, stage: str) -> Decimal | None:
    line = next(s for s in stats.stages if s.stage == stage)
    return ratio(sum(1 for s in stats.stalled if s.stage == stage), line.open_count)
