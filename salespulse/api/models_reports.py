"""Response models of the reports: funnel, behaviour, reverse-funnel plan and daily report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from salespulse.api.models import Amount, GoalsOut, Out


class StageOut(Out):
    stage: str
    probability: Amount
    open_count: int
    open_amount: Amount
    weighted_amount: Amount


class ConversionOut(Out):
    from_stage: str
    to_stage: str
    entered: int
    converted: int
    rate: Amount | None


class StalledOut(Out):
    opportunity_id: str
    rep_id: str | None
    stage: str
    days_in_stage: int
    limit_days: int
    amount: Amount | None


class DiagnosisOut(Out):
    code: str
    message: str
    stage: str | None
    value: Amount | None
    peer_median: Amount | None
    ratio: Amount | None
    peers: int


class FunnelOut(Out):
    scope: str
    period: str
    as_of: datetime
    new_opportunities: int
    open_count: int
    open_amount: Amount
    stages: list[StageOut]
    conversions: list[ConversionOut]
    won: int
    lost: int
    win_rate: Amount | None
    won_amount: Amount
    avg_deal_size: Amount | None
    avg_cycle_days: Amount | None
    velocity_per_month: Amount | None
    stalled: list[StalledOut]
    peers: list[str]
    diagnosis: list[DiagnosisOut]

    @classmethod
    def of(cls, report: Any) -> FunnelOut:
        """From a projections.queries.funnel.FunnelReport (its stats flattened to the top level)."""
        stats = report.stats
        return cls(
            scope=report.scope,
            period=report.period,
            as_of=report.as_of,
            new_opportunities=stats.new_opportunities,
            open_count=stats.open_count,
            open_amount=stats.open_amount,
            stages=[StageOut.model_validate(s) for s in stats.stages],
            conversions=[ConversionOut.model_validate(c) for c in stats.conversions],
            won=stats.won,
            lost=stats.lost,
            win_rate=stats.win_rate,
            won_amount=stats.won_amount,
            avg_deal_size=stats.avg_deal_size,
            avg_cycle_days=stats.avg_cycle_days,
            velocity_per_month=stats.velocity_per_month,
            stalled=[StalledOut.model_validate(s) for s in stats.stalled],
            peers=list(report.peers),
            diagnosis=[DiagnosisOut.model_validate(d) for d in report.diagnosis],
        )


class RuleOut(Out):
    rule: str
    metric: str
    subject: str
    period: str
    actual: Amount
    required: Amount
    remaining: Amount
    days_left: int
    needed_per_day: Amount | None
    compliant: bool
    prorated: bool


class BehaviourOut(Out):
    scope: str
    period: str
    as_of_day: date
    rules: list[RuleOut]

    @classmethod
    def of(cls, report: Any) -> BehaviourOut:
        """From a projections.queries.behaviour.BehaviourReport (its `lines` become `rules`)."""
        rules = [RuleOut.model_validate(line) for line in report.lines]
        return cls(
            scope=report.scope, period=report.period, as_of_day=report.as_of_day, rules=rules
        )


class RateOut(Out):
    name: str
    value: Amount | None
    source: str  # the scope the rate was taken from (a parent when history is thin)
    sample: int


class PlanOut(Out):
    scope: str
    period: str
    metric: str
    target: Amount | None
    required_wins: int | None
    required_opportunities: int | None
    required_leads: int | None
    required_visits: int | None
    win_rate: RateOut
    avg_deal_size: RateOut
    opportunities_per_visit: RateOut
    opportunities_per_lead: RateOut
    window_start: date
    window_end: date
    fallback: bool
    notes: list[str]


class ActivityOut(Out):
    kind: str
    subkind: str
    count: int
    amount: Amount


class MoveOut(Out):
    opportunity_id: str
    from_stage: str | None
    to_stage: str
    at: datetime
    amount: Amount | None


class WinOut(Out):
    broadcast_id: str
    source: str
    amount: Amount
    account_id: str | None
    opportunity_id: str | None
    order_id: str | None
    at: datetime
    cheers: int


class DailyOut(Out):
    rep_id: str
    name: str
    unit_id: str | None
    day: date
    summary: list[str]
    activities: list[ActivityOut]
    calls_by_outcome: dict[str, int]
    visits_by_type: dict[str, int]
    pipeline_moves: list[MoveOut]
    wins: list[WinOut]
    orders: list[WinOut]
    payments: int
    payment_amount: Amount
    metrics: dict[str, Amount]
    goals: GoalsOut

    @classmethod
    def of(cls, r: Any) -> DailyOut:
        """From a projections.queries.daily.DailyReport."""

        def wins(rows: Any) -> list[WinOut]:
            return [
                WinOut(
                    broadcast_id=str(w.event_id),
                    source=w.source,
                    amount=w.amount,
                    account_id=w.account_id,
                    opportunity_id=w.opportunity_id,
                    order_id=w.order_id,
                    at=w.at,
                    cheers=w.cheers,
                )
                for w in rows
            ]

        return cls(
            rep_id=r.rep_id,
            name=r.name,
            unit_id=r.unit_id,
            day=r.day,
            summary=list(r.summary),
            activities=[ActivityOut.model_validate(a) for a in r.activities],
            calls_by_outcome=dict(r.calls_by_outcome),
            visits_by_type=dict(r.visits_by_type),
            pipeline_moves=[MoveOut.model_validate(m) for m in r.pipeline_moves],
            wins=wins(r.wins),
            orders=wins(r.orders),
            payments=r.payments,
            payment_amount=r.payment_amount,
            metrics=dict(r.metrics),
            goals=GoalsOut.of(r.goals),
        )


class ConflictOut(Out):
    account_id: str
    opportunity_id: str
    rep_id: str
    unit_id: str | None
    amount: Amount | None
    other_opportunity_id: str
    other_rep_id: str
    other_unit_id: str | None
    other_amount: Amount | None
    at: datetime
    resolved: bool
    resolved_by: str | None  # lost or credit


class ConflictsOut(Out):
    scope: str
    period: str
    conflicts: list[ConflictOut]
