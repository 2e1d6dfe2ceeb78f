"""What a freshly applied batch announces: deal wins (with context) and 100 % milestones.

Called by the live worker inside the batch's transaction, with a read model over that same
transaction, so an announcement commits together with the numbers it quotes — and never
for a record applied before (only `AppliedResult.deal_wins`, the newly applied ones, count).
A replay never calls it.

Rules (documented in README, "Broadcasts"):
- one deal, one announcement: an OpportunityWon is announced; an OrderSigned only when it has
  no opportunity (a direct order), since a won opportunity's order is the same deal;
- a live deal's payload quotes the rep's name and unit, the deal, the rep's completion of the
  month's revenue target, and the rep's company rank on the metric the deal moves
  (won_amount for a win, revenue for a direct order) without and with it, as of the end of
  the batch;
- a rep or a unit crossing 100 % of a monthly revenue target is a `milestone`, once ever;
- a deal that occurred more than `live_cutoff` before now is recorded with `live: false`
  (history, e.g. a late sync or a backlog being caught up) and without that context: it is
  not news, and computing ranks for a backlog would cost more than applying it.

Cost: a few queries per (metric, month) and per (scope, month) touched by the batch's live
deals, not per deal, so a busy batch costs about what a quiet one does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from projections.broadcasts.log import NewBroadcast, deal_won_broadcast, milestone_broadcast
from projections.model.deltas import DealWonCandidate
from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel, Rep, RepSpan, Unit
from projections.model.scopes import scope_spans, unit_on
from projections.queries.numbers import plain, ratio
from schemas.periods import parse_period, parse_scope

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
    deals = sorted(_one_per_deal(wins), key=lambda w: (w.at, str(w.event_id)))
    live = [w for w in deals if now - w.at <= live_cutoff]
    context = AnnouncementContext(rm, kpis)
    out: list[NewBroadcast] = []
    for win in deals:
        item = deal_won_broadcast(win)
        item.payload["live"] = win in live
        out.append(item)
        if win not in live:
            continue
        month = f"{win.day.year:04d}-{win.day.month:02d}"
        rep = context.reps.get(win.rep_id)
        unit_id = unit_on(rep, win.day) if rep else None
        rank_before, rank_after = context.ranks(win, month)
        completion = context.completion(f"rep:{win.rep_id}", month)
        item.payload.update(
            rep_name=rep.name if rep else win.rep_id,
            unit_id=unit_id,
            unit_name=context.unit_name(unit_id),
            month=month,
            month_completion=plain(completion) if completion is not None else None,
            rank_before=rank_before,
            rank_after=rank_after,
        )
        for scope in [f"rep:{win.rep_id}"] + ([f"unit:{unit_id}"] if unit_id else []):
            actual, target = context.actual_and_target(scope, month)
            if target is not None and target > 0 and actual >= target:
                out.append(
                    milestone_broadcast(scope, MILESTONE_METRIC, month, 100, actual, target, win.at)
                )
    return out


def _one_per_deal(wins: Sequence[DealWonCandidate]) -> list[DealWonCandidate]:
    return [w for w in wins if w.source == "OpportunityWon" or w.opportunity_id is None]


class AnnouncementContext:
    """Reads shared by the announcements of one batch, each made once."""

    def __init__(self, rm: ReadModel, kpis: KpiDefinitions) -> None:
        self.rm, self.kpis = rm, kpis
        self._reps: Mapping[str, Rep] | None = None
        self._units: Mapping[str, Unit] | None = None
        self._boards: dict[tuple[str, str], dict[str, Decimal]] = {}
        self._goals: dict[tuple[str, str], tuple[Decimal, Decimal | None]] = {}

    @property
    def reps(self) -> Mapping[str, Rep]:
        if self._reps is None:
            self._reps = self.rm.reps()
        return self._reps

    @property
    def units(self) -> Mapping[str, Unit]:
        if self._units is None:
            self._units = self.rm.units()
        return self._units

    def unit_name(self, unit_id: str | None) -> str | None:
        unit = self.units.get(unit_id) if unit_id is not None else None
        return unit.name if unit else None

    def _totals(self, metric: str, spans: list[RepSpan]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        if spans and metric in self.kpis.metrics:
            for (_, rep_id), total in self.rm.metric_totals([metric], spans).items():
                out[rep_id] = out.get(rep_id, Decimal(0)) + total.value
        return out

    def _spans(self, scope: str, month: str) -> list[RepSpan]:
        period = parse_period(month)
        return scope_spans(parse_scope(scope), self.units, self.reps, period.start, period.end)

    def actual_and_target(self, scope: str, month: str) -> tuple[Decimal, Decimal | None]:
        """The month's revenue so far and its target (None without one) for a scope."""
        key = (scope, month)
        if key not in self._goals:
            targets = self.rm.targets(scope=scope, period=month, metric=MILESTONE_METRIC)
            target = targets[0].value if targets else None
            actual = sum(
                self._totals(MILESTONE_METRIC, self._spans(scope, month)).values(), Decimal(0)
            )
            self._goals[key] = (actual, target)
        return self._goals[key]

    def completion(self, scope: str, month: str) -> Decimal | None:
        actual, target = self.actual_and_target(scope, month)
        return ratio(actual, target) if target else None

    def ranks(self, win: DealWonCandidate, month: str) -> tuple[int | None, int | None]:
        """The rep's company rank without this deal and with it (competition ranking)."""
        metric = RANK_METRIC[win.source]
        if metric not in self.kpis.metrics:
            return None, None
        key = (metric, month)
        if key not in self._boards:
            self._boards[key] = self._totals(metric, self._spans("company", month))
        values = self._boards[key]
        mine = values.get(win.rep_id)
        if mine is None:
            return None, None
        others = [v for rep, v in values.items() if rep != win.rep_id]

        def rank(value: Decimal) -> int | None:
            return 1 + sum(v > value for v in others) if value > 0 else None

        return rank(mine - win.amount), rank(mine)
