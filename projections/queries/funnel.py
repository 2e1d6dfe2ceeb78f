"""Funnel health of a scope in a period: stages, conversion, win rate, velocity, stalls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.model.scopes import ScopeFilter, peer_scopes, scope_reps
from projections.queries.clock import as_of_day, period_end_instant, through
from projections.queries.diagnosis import DiagnosisItem, diagnose
from projections.queries.funnel_stats import Conversion, FunnelStats, StageLine, StalledDeal
from projections.queries.numbers import TWO, q, ratio
from projections.queries.pipeline import DealAsOf, deals_as_of, local_day
from schemas.periods import Period, Scope, as_period, as_scope

InScope = Callable[[str | None, date], bool]
_DAY_SECONDS = Decimal(86400)


@dataclass(frozen=True)
class FunnelReport:
    """A scope's funnel with a diagnosis against its peers."""

    scope: str
    period: str
    as_of: datetime
    stats: FunnelStats
    peers: tuple[str, ...]
    diagnosis: tuple[DiagnosisItem, ...]


def _exact(num: Decimal | int, den: int) -> Decimal | None:
    return Decimal(num) / den if den else None


def velocity(
    open_count: int, win_rate: Decimal | None, deal: Decimal | None, cycle: Decimal | None
) -> Decimal | None:
    """Sales velocity per month = open opportunities x win rate x deal size / cycle days x 30."""
    if win_rate is None or deal is None or not cycle:
        return None
    return q(open_count * win_rate * deal / cycle * 30, TWO)


def _conversions(
    deals: Sequence[DealAsOf],
    in_scope: InScope,
    stages: tuple[str, ...],
    window: tuple[date, date],
    at: datetime,
    tz: tzinfo,
) -> tuple[Conversion, ...]:
    order = {s: i for i, s in enumerate((*stages, "won"))}
    out = []
    for i, stage in enumerate(stages):
        entered = converted = 0
        for d in deals:
            history = [h for h in d.opp.history if h.entered_at < at]
            for pos, h in enumerate(history):
                day = local_day(h.entered_at, tz)
                if (
                    h.stage == stage
                    and window[0] <= day < window[1]
                    and in_scope(d.opp.rep_id, day)
                ):
                    entered += 1
                    # Skipping a stage still counts as converting past it.
                    later = history[pos + 1 :]
                    converted += any(order.get(x.stage, -1) > i for x in later)
                    break
        to_stage = stages[i + 1] if i + 1 < len(stages) else "won"
        out.append(Conversion(stage, to_stage, entered, converted, ratio(converted, entered)))
    return tuple(out)


def funnel_stats(
    deals: Sequence[DealAsOf],
    in_scope: InScope,
    kpis: KpiDefinitions,
    window: tuple[date, date],
    at: datetime,
    tz: tzinfo,
) -> FunnelStats:
    """Funnel numbers for deals as of `at`; flows count events whose day lies in `window`."""
    last_day = as_of_day(at, tz)

    def counts(t: datetime | None, rep: str | None) -> bool:
        day = local_day(t, tz) if t else None
        return day is not None and window[0] <= day < window[1] and in_scope(rep, day)

    open_deals = [d for d in deals if d.is_open and in_scope(d.opp.rep_id, last_day)]
    stages = []
    for s in kpis.stages:
        amounts = [d.opp.amount or Decimal(0) for d in open_deals if d.stage == s]
        p = kpis.probabilities[s]
        stages.append(StageLine(s, p, len(amounts), sum(amounts, Decimal(0)), q(sum(amounts) * p)))
    new = sum(1 for d in deals if counts(d.created_at, d.opp.rep_id))
    closed = [d for d in deals if d.outcome and counts(d.closed_at, d.opp.rep_id)]
    won = [d for d in closed if d.outcome == "won"]
    lost = len(closed) - len(won)
    won_amount = sum((d.opp.amount or Decimal(0) for d in won), Decimal(0))
    cycles = [
        Decimal(int((d.closed_at - d.created_at).total_seconds())) / _DAY_SECONDS
        for d in won
        if d.closed_at
    ]
    win_rate = ratio(len(won), len(closed))
    deal_size = ratio(won_amount, len(won))
    cycle = ratio(sum(cycles, Decimal(0)), len(cycles), TWO)
    stalled = []
    for d in open_deals:
        limit = kpis.stall_days.get(d.stage or "")
        if limit and d.stage_since and at - d.stage_since > timedelta(days=limit):
            days = (at - d.stage_since).days
            stalled.append(
                StalledDeal(
                    d.opp.opportunity_id, d.opp.rep_id, d.stage or "", days, limit, d.opp.amount
                )
            )
    stalled.sort(key=lambda s: (-s.days_in_stage, s.opportunity_id))
    return FunnelStats(
        new_opportunities=new,
        open_count=len(open_deals),
        open_amount=sum((s.open_amount for s in stages), Decimal(0)),
        stages=tuple(stages),
        conversions=_conversions(deals, in_scope, kpis.stages, window, at, tz),
        won=len(won),
        lost=lost,
        win_rate=win_rate,
        won_amount=won_amount,
        avg_deal_size=deal_size,
        avg_cycle_days=cycle,
        # From the exact ratios, rounded once: a 1/3 win rate rounded to 0.3333 first gave
        # 11,998.80 where 12,000.00 is exact.
        velocity_per_month=velocity(
            len(open_deals),
            _exact(len(won), len(closed)),
            _exact(won_amount, len(won)),
            _exact(sum(cycles, Decimal(0)), len(cycles)),
        ),
        stalled=tuple(stalled),
    )


def funnel(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope | str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
) -> FunnelReport:
    """The funnel of a scope; as_of is clamped to the period's end for past periods."""
    scope = as_scope(scope)
    period = as_period(period)
    at = min(as_of, period_end_instant(period, tz))
    last_day = as_of_day(at, tz)
    window = through(period, last_day)
    units, reps = rm.units(), rm.reps()
    peers = peer_scopes(scope, units, reps, last_day)
    owners: set[str] | None = set()
    for s in (scope, *peers):
        found = scope_reps(s, units, reps, min(period.start, last_day), period.end)
        owners = None if found is None or owners is None else owners | set(found)
    deals = deals_as_of(rm.opportunities(None if owners is None else sorted(owners)), at)
    own = funnel_stats(deals, ScopeFilter(scope, units, reps), kpis, window, at, tz)
    peer_stats = [
        funnel_stats(deals, ScopeFilter(p, units, reps), kpis, window, at, tz) for p in peers
    ]
    label = "the team" if scope.kind == "rep" else "sibling units"
    return FunnelReport(
        scope=str(scope),
        period=period.text,
        as_of=at,
        stats=own,
        peers=tuple(str(p) for p in peers),
        diagnosis=tuple(diagnose(own, peer_stats, label)),
    )
