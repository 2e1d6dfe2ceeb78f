"""What a freshly applied batch announces: deal wins (with context) and 100 % milestones.

Called by the live worker inside the batch's transaction, with a read model over that same
transaction, so an announcement commits together with the numbers it quotes — and never
for a record applied before (only `AppliedResult.deal_wins`, the newly applied ones, count).
A replay never calls it.

Rules (documented in README, "Broadcasts"):
- one deal, one announcement: an OpportunityWon is announced; an OrderSigned only when it has
  no opportunity (a direct order), since a won opportunity's order is the same deal;
- the payload quotes the rep's name and unit, the deal, the rep's completion of the month's
  revenue target, and the rep's company rank on the metric the deal moves (won_amount for a
  win, revenue for a direct order) without and with it;
- a rep or a unit crossing 100 % of a monthly revenue target is a `milestone`, once ever;
- a deal that occurred more than `live_cutoff` before now is recorded with `live: false`
  (history, e.g. a late sync from last month) and not pushed as news.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from projections.broadcasts import NewBroadcast, deal_won_broadcast, milestone_broadcast
from projections.deltas import DealWonCandidate
from projections.goals import GoalLine, goal_progress
from projections.kpi import KpiDefinitions
from projections.leaderboard import leaderboard
from projections.numbers import plain
from projections.readmodel import ReadModel
from projections.scopes import unit_on

MILESTONE_METRIC = "revenue"
RANK_METRIC = {"OpportunityWon": "won_amount", "OrderSigned": "revenue"}


def announcements(
    rm: ReadModel,
    kpis: KpiDefinitions,
    wins: Sequence[DealWonCandidate],
    tz: tzinfo,
    now: datetime,
    live_cutoff: timedelta,
) -> list[NewBroadcast]:
    """The broadcasts for the deal wins a batch newly applied, in occurred_at order."""
    out: list[NewBroadcast] = []
    reps = rm.reps()
    units = rm.units()
    for win in sorted(_one_per_deal(wins), key=lambda w: (w.at, str(w.event_id))):
        month = f"{win.day.year:04d}-{win.day.month:02d}"
        rep = reps.get(win.rep_id)
        unit_id = unit_on(rep, win.day) if rep else None
        own = _revenue_line(rm, kpis, f"rep:{win.rep_id}", month, win.at, tz)
        completion = own.completion if own else None
        rank_before, rank_after = _ranks(rm, kpis, win, month, tz)
        item = deal_won_broadcast(win)
        item.payload.update(
            rep_name=rep.name if rep else win.rep_id,
            unit_id=unit_id,
            unit_name=units[unit_id].name if unit_id is not None and unit_id in units else None,
            month=month,
            month_completion=plain(completion) if completion is not None else None,
            rank_before=rank_before,
            rank_after=rank_after,
            live=now - win.at <= live_cutoff,
        )
        out.append(item)
        scopes = [f"rep:{win.rep_id}"] + ([f"unit:{unit_id}"] if unit_id else [])
        for scope in scopes:
            line = _revenue_line(rm, kpis, scope, month, win.at, tz)
            if line is not None and line.target > 0 and line.actual >= line.target:
                out.append(
                    milestone_broadcast(
                        scope, MILESTONE_METRIC, month, 100, line.actual, line.target, win.at
                    )
                )
    return out


def _one_per_deal(wins: Sequence[DealWonCandidate]) -> list[DealWonCandidate]:
    return [w for w in wins if w.source == "OpportunityWon" or w.opportunity_id is None]


def _revenue_line(
    rm: ReadModel, kpis: KpiDefinitions, scope: str, month: str, at: datetime, tz: tzinfo
) -> GoalLine | None:
    """The month's revenue goal line of a scope at `at` (None without a revenue target)."""
    if MILESTONE_METRIC not in kpis.metrics:
        return None
    report = goal_progress(rm, kpis, scope, month, at, tz)
    return next((line for line in report.lines if line.metric == MILESTONE_METRIC), None)


def _ranks(
    rm: ReadModel, kpis: KpiDefinitions, win: DealWonCandidate, month: str, tz: tzinfo
) -> tuple[int | None, int | None]:
    """The rep's company rank for the month without this deal, and with it.

    Ranked on the metric the deal moves (won_amount for a win, revenue for a direct order),
    by competition ranking: 1 + the number of reps with a strictly higher value.
    """
    metric = RANK_METRIC[win.source]
    if metric not in kpis.metrics:
        return None, None
    board = leaderboard(rm, metric, month, win.at, tz)
    values = {e.rep_id: e.value for e in board.entries}
    mine = values.get(win.rep_id)
    if mine is None:
        return None, None
    others = [v for rep, v in values.items() if rep != win.rep_id]

    def rank(value: Decimal) -> int | None:
        return 1 + sum(v > value for v in others) if value > 0 else None

    return rank(mine - win.amount), rank(mine)
