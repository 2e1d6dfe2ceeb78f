"""A rep's daily report: what the rep did on a day, written out, with a goal snapshot."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import DealWin, ReadModel, RepSpan
from projections.model.scopes import unit_on
from projections.queries.clock import end_of_day
from projections.queries.goals import GoalReport, goal_progress
from projections.queries.numbers import plain
from projections.queries.pipeline import local_day
from schemas.periods import Scope, period_containing


@dataclass(frozen=True)
class ActivityLine:
    """Activities of one kind and subkind (call outcome, visit type, lead source...)."""

    kind: str
    subkind: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class PipelineMove:
    """A deal of the rep entering a stage (or won / lost) that day."""

    opportunity_id: str
    from_stage: str | None  # None when the deal was created
    to_stage: str
    at: datetime
    amount: Decimal | None


@dataclass(frozen=True)
class DailyReport:
    """Everything the rep did on the day and where the month stands at its end."""

    rep_id: str
    name: str
    unit_id: str | None
    day: date
    activities: tuple[ActivityLine, ...]
    calls_by_outcome: dict[str, int]
    visits_by_type: dict[str, int]
    pipeline_moves: tuple[PipelineMove, ...]
    wins: tuple[DealWin, ...]
    orders: tuple[DealWin, ...]
    payments: int
    payment_amount: Decimal
    metrics: dict[str, Decimal]  # every KPI of the day
    goals: GoalReport  # the month to date, as of the end of the day
    summary: tuple[str, ...]


def _moves(rm: ReadModel, rep_id: str, day: date, tz: tzinfo) -> list[PipelineMove]:
    moves = []
    for opp in rm.opportunities([rep_id]):
        previous: str | None = None
        for h in opp.history:
            if local_day(h.entered_at, tz) == day:
                moves.append(
                    PipelineMove(opp.opportunity_id, previous, h.stage, h.entered_at, opp.amount)
                )
            previous = h.stage
    return sorted(moves, key=lambda m: (m.at, m.opportunity_id))


def _summary(r: DailyReport) -> list[str]:
    def counted(kind: str, by: dict[str, int]) -> str:
        detail = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(by.items()))
        return f"{sum(by.values())} {kind} ({detail})"

    lines = []
    if r.calls_by_outcome:
        lines.append(counted("calls", r.calls_by_outcome))
    if r.visits_by_type:
        lines.append(counted("visits", r.visits_by_type))
    if r.pipeline_moves:
        lines.append(f"{len(r.pipeline_moves)} pipeline moves")
    for label, rows in (("won", r.wins), ("signed", r.orders)):
        if rows:
            total = sum((w.amount for w in rows), Decimal(0))
            noun = "deal" if label == "won" else "order"
            lines.append(f"{label} {len(rows)} {noun}(s) worth {plain(total)}")
    if r.payments:
        lines.append(f"received {r.payments} payment(s) worth {plain(r.payment_amount)}")
    if not lines:
        lines.append("no recorded activity")
    for g in r.goals.lines:
        if g.pace_status in ("at_risk", "behind"):
            pct = f"{(g.completion or 0) * 100:.0f} %"
            status = g.pace_status.replace("_", " ")
            lines.append(f"{g.metric}: {pct} of the {r.goals.period} target, {status}")
    return lines


def daily_report(
    rm: ReadModel, kpis: KpiDefinitions, rep_id: str, day: date, tz: tzinfo
) -> DailyReport:
    """The daily report of a rep for an org-local date."""
    span = [RepSpan(rep_id, day, day + timedelta(days=1))]
    activities = rm.activity_totals(span)
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for a in activities:
        by_kind[a.kind][a.subkind] = a.count
    payments = [a for a in activities if a.kind == "payment"]
    totals = rm.metric_totals(list(kpis.metrics), span)
    broadcasts = rm.deal_wins(rep_id=rep_id, start=day, end=day + timedelta(days=1))
    rep = rm.reps().get(rep_id)
    report = DailyReport(
        rep_id=rep_id,
        name=rep.name if rep else rep_id,
        unit_id=unit_on(rep, day) if rep else None,
        day=day,
        activities=tuple(ActivityLine(a.kind, a.subkind, a.count, a.amount) for a in activities),
        calls_by_outcome=by_kind.get("call", {}),
        visits_by_type=by_kind.get("visit", {}),
        pipeline_moves=tuple(_moves(rm, rep_id, day, tz)),
        wins=tuple(
            sorted((w for w in broadcasts if w.source == "OpportunityWon"), key=lambda w: w.at)
        ),
        orders=tuple(
            sorted((w for w in broadcasts if w.source == "OrderSigned"), key=lambda w: w.at)
        ),
        payments=sum(a.count for a in payments),
        payment_amount=sum((a.amount for a in payments), Decimal(0)),
        metrics={
            m: totals[(m, rep_id)].value if (m, rep_id) in totals else Decimal(0)
            for m in kpis.metrics
        },
        goals=goal_progress(
            rm, kpis, Scope("rep", rep_id), period_containing(day, "month"), end_of_day(day, tz), tz
        ),
        summary=(),
    )
    return _with_summary(report)


def _with_summary(report: DailyReport) -> DailyReport:
    return replace(report, summary=tuple(_summary(report)))
