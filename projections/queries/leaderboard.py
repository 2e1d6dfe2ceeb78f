"""Leaderboard (competition ranking, ties by who reached the value first) and team contests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.readmodel import MetricTotal, ReadModel
from projections.model.scopes import ScopeFilter, members_on, scope_spans, unit_on
from projections.queries.clock import as_of_day, through
from projections.queries.numbers import ratio
from schemas.periods import Period, Scope, as_period, as_scope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LeaderboardEntry:
    """One rep's place; reached_at is when the rep's value was reached (None for zero)."""

    rank: int
    rep_id: str
    name: str
    value: Decimal
    reached_at: datetime | None
    target: Decimal | None
    completion: Decimal | None
    # The rep's team on the last counted day (None: between units, or left).
    unit_id: str | None = None
    unit_name: str | None = None


@dataclass(frozen=True)
class Leaderboard:
    """Ranked reps of a scope for one metric and period, and the scope's total."""

    metric: str
    scope: str
    period: str
    entries: tuple[LeaderboardEntry, ...]
    team_total: Decimal
    team_target: Decimal | None
    team_completion: Decimal | None


@dataclass(frozen=True)
class ContestEntry:
    """One unit in a contest: total, headcount on the as-of day, per capita and its leader.

    Per capita divides the total by the average headcount over the same elapsed days the
    total counts (member-days / days): a rep who left mid-period counts for the days they
    contributed, so a team that lost a rep is not divided by fewer people than it summed.
    """

    unit_id: str
    name: str
    total: Decimal
    headcount: int
    per_capita: Decimal | None
    leader: str | None
    leader_value: Decimal | None
    average_headcount: Decimal | None = None
    leader_name: str | None = None


@dataclass(frozen=True)
class Contest:
    """Team versus team on one metric; entries ordered by per-capita value."""

    metric: str
    period: str
    entries: tuple[ContestEntry, ...]


def _order_key(item: tuple[str, MetricTotal]) -> tuple[Decimal, bool, datetime, str]:
    rep_id, total = item
    # Aware datetimes compare as instants; a zero value (never reached) sorts after all others.
    return (-total.value, total.reached_at is None, total.reached_at or _EPOCH, rep_id)


def rank(values: dict[str, MetricTotal]) -> list[tuple[int, str, MetricTotal]]:
    """Competition ranking (1, 1, 3); equal values list whoever reached the value first first."""
    ordered = sorted(values.items(), key=_order_key)
    out: list[tuple[int, str, MetricTotal]] = []
    for i, (rep_id, total) in enumerate(ordered):
        same = out and out[-1][2].value == total.value
        out.append((out[-1][0] if same else i + 1, rep_id, total))
    return out


def _values(
    rm: ReadModel, metric: str, scope: Scope, period: Period, last_day: date
) -> dict[str, MetricTotal]:
    """Each rep's value for the scope (only the days the rep counted for it)."""
    start, end = through(period, last_day)
    units, reps = rm.units(), rm.reps()
    spans = scope_spans(scope, units, reps, start, end)
    totals = rm.metric_totals([metric], spans) if spans else {}
    values = {rep: t for (_, rep), t in totals.items()}
    # Members on the last counted day appear even with nothing yet; leavers only with a value.
    day = max(start, end - timedelta(days=1))
    in_scope = ScopeFilter(scope, units, reps)
    for rep_id in {s.rep_id for s in spans} - set(values):
        if scope.kind == "company":
            member = rep_id in reps and unit_on(reps[rep_id], day) is not None
        else:
            member = in_scope(rep_id, day)
        if member:
            values[rep_id] = MetricTotal(Decimal(0), None)
    return values


def leaderboard(
    rm: ReadModel,
    metric: str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
    scope: Scope | str = "company",
    limit: int | None = None,
) -> Leaderboard:
    """Reps of the scope ranked on the metric over the period's elapsed days."""
    scope = as_scope(scope)
    period = as_period(period)
    last_day = as_of_day(as_of, tz)
    values = _values(rm, metric, scope, period, last_day)
    targets = {t.scope: t.value for t in rm.targets(period=period.text, metric=metric)}
    units, reps = rm.units(), rm.reps()
    day = max(period.start, min(last_day, period.end - timedelta(days=1)))
    entries = []
    for place, rep_id, total in rank(values)[:limit]:
        target = targets.get(f"rep:{rep_id}")
        rep = reps.get(rep_id)
        unit_id = unit_on(rep, day) if rep else None
        unit = units.get(unit_id) if unit_id else None
        completion = None if target is None else ratio(total.value, target)
        entries.append(
            LeaderboardEntry(
                place,
                rep_id,
                rep.name if rep else rep_id,
                total.value,
                total.reached_at,
                target,
                completion,
                unit_id,
                unit.name if unit else None,
            )
        )
    team_total = sum((t.value for t in values.values()), Decimal(0))
    team_target = targets.get(str(scope))
    return Leaderboard(
        metric=metric,
        scope=str(scope),
        period=period.text,
        entries=tuple(entries),
        team_total=team_total,
        team_target=team_target,
        team_completion=None if team_target is None else ratio(team_total, team_target),
    )


def _per_capita(total: Decimal, member_days: int, days: int) -> Decimal | None:
    """total / (member_days / days), exact until the one rounding."""
    return ratio(total * days, member_days) if days else None


def contest(
    rm: ReadModel,
    metric: str,
    period: Period | str,
    unit_ids: Sequence[str],
    as_of: datetime,
    tz: tzinfo,
) -> Contest:
    """Team versus team: totals over the elapsed days, headcount on the last elapsed day."""
    period = as_period(period)
    last_day = as_of_day(as_of, tz)
    start, end = through(period, last_day)
    day = max(start, end - timedelta(days=1))
    units, reps = rm.units(), rm.reps()
    entries = []
    for unit_id in unit_ids:
        values = _values(rm, metric, Scope("unit", unit_id), period, last_day)
        total = sum((t.value for t in values.values()), Decimal(0))
        headcount = len(members_on(units, reps, unit_id, day))
        spans = scope_spans(Scope("unit", unit_id), units, reps, start, end)
        member_days = sum((s.end - s.start).days for s in spans)
        average = ratio(member_days, (end - start).days)
        ranked = rank(values)
        leader = ranked[0] if ranked and ranked[0][2].value > 0 else None
        name = units[unit_id].name if unit_id in units else unit_id
        entries.append(
            ContestEntry(
                unit_id,
                name,
                total,
                headcount,
                _per_capita(total, member_days, (end - start).days),
                leader[1] if leader else None,
                leader[2].value if leader else None,
                average,
                reps[leader[1]].name if leader and leader[1] in reps else None,
            )
        )
    entries.sort(key=lambda e: (e.per_capita is None, -(e.per_capita or 0), e.unit_id))
    return Contest(metric, period.text, tuple(entries))
