"""The daily and weekly digest of a scope: top reps, team against team, who is behind, rules.

Pure over a read model (the same queries as the API), so a digest of a fixed history is the
same wherever it is computed. Periods: a daily digest covers its day; a weekly one the ISO
week containing the day before it is sent (a Monday-morning digest is last week's, a
Friday-evening one this week's so far). Pace and behaviour rules are the month's, as of
the digest's instant; "behind" means pace_status `behind` or `at_risk` on a rep's target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel, Rep, Unit
from projections.model.scopes import scope_reps
from projections.queries.behaviour import behaviour
from projections.queries.clock import as_of_day
from projections.queries.goals import goal_progress
from projections.queries.leaderboard import contest, leaderboard
from schemas.periods import Period, Scope, parse_scope, period_containing

TOP = 5
BEHIND = ("behind", "at_risk")


@dataclass(frozen=True)
class TopRep:
    rank: int
    name: str
    value: Decimal


@dataclass(frozen=True)
class TeamLine:
    name: str
    total: Decimal
    headcount: int
    per_capita: Decimal | None
    leader: str | None


@dataclass(frozen=True)
class BehindLine:
    name: str
    metric: str
    completion: Decimal | None
    expected_share: Decimal  # expected_to_date / target: where the pace says they should be
    status: str


@dataclass(frozen=True)
class RuleLine:
    rule: str
    met: int
    subjects: int
    furthest: tuple[tuple[str, Decimal], ...]  # (name, remaining) of those furthest from it


@dataclass(frozen=True)
class Digest:
    """What one digest says; `key` is its delivery key (e.g. digest:daily:2026-11-20)."""

    key: str
    cadence: str  # daily or weekly
    period: str
    scope: str
    scope_name: str
    metric: str
    as_of: datetime
    top: tuple[TopRep, ...]
    teams: tuple[TeamLine, ...]
    behind: tuple[BehindLine, ...]
    rules: tuple[RuleLine, ...]


def digest_period(cadence: str, now: datetime, tz: tzinfo) -> Period:
    """The period a digest sent at `now` covers (see the module's docstring)."""
    today = as_of_day(now, tz)
    if cadence == "daily":
        return period_containing(today, "day")
    return period_containing(today - timedelta(days=1), "week")


def build_digest(
    rm: ReadModel,
    kpis: KpiDefinitions,
    cadence: str,
    now: datetime,
    tz: tzinfo,
    scope: str = "company",
    metric: str = "revenue",
) -> Digest:
    period = digest_period(cadence, now, tz)
    end = datetime.combine(period.end, datetime.min.time(), tzinfo=tz)
    as_of = min(now, end - timedelta(microseconds=1))
    units, reps = rm.units(), rm.reps()
    sc = parse_scope(scope)
    month = period_containing(as_of_day(as_of, tz), "month")
    board = leaderboard(rm, metric, period, as_of, tz, scope=sc, limit=TOP)
    top = tuple(TopRep(e.rank, e.name, e.value) for e in board.entries if e.value > 0)
    teams = contest(rm, metric, period, _teams(units, sc), as_of, tz)
    team_lines = tuple(
        TeamLine(
            t.name,
            t.total,
            t.headcount,
            t.per_capita,
            reps[t.leader].name if t.leader is not None and t.leader in reps else t.leader,
        )
        for t in teams.entries
    )
    day = as_of_day(as_of, tz)
    behind: list[BehindLine] = []
    members = scope_reps(sc, units, reps, day, day + timedelta(days=1))
    for rep_id in sorted(reps) if members is None else members:
        report = goal_progress(rm, kpis, Scope("rep", rep_id), month, as_of, tz)
        for line in report.lines:
            if line.pace_status in BEHIND:
                behind.append(
                    BehindLine(
                        reps[rep_id].name if rep_id in reps else rep_id,
                        line.metric,
                        line.completion,
                        line.expected_to_date / line.target if line.target else Decimal(0),
                        line.pace_status,
                    )
                )
    behind.sort(key=lambda b: (b.completion or Decimal(0), b.name))
    rules = _rules(rm, kpis, sc, month, as_of, tz, units, reps)
    return Digest(
        key=f"digest:{cadence}:{period.text}",
        cadence=cadence,
        period=period.text,
        scope=scope,
        scope_name=_scope_name(sc, units, reps),
        metric=metric,
        as_of=as_of,
        top=top,
        teams=team_lines,
        behind=tuple(behind),
        rules=rules,
    )


def _teams(units: Mapping[str, Unit], scope: Scope) -> list[str]:
    """The units compared: the scope unit's children (the company's, for the company)."""
    if scope.kind == "unit":
        parent: str | None = scope.id
    elif scope.kind == "company":
        roots = [u.unit_id for u in units.values() if u.parent_id is None]
        parent = roots[0] if roots else None
    else:
        return []
    return sorted(u.unit_id for u in units.values() if u.parent_id == parent and parent)


def _rules(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope,
    month: Period,
    as_of: datetime,
    tz: tzinfo,
    units: Mapping[str, Unit],
    reps: Mapping[str, Rep],
) -> tuple[RuleLine, ...]:
    report = behaviour(rm, kpis, scope, month, as_of, tz)
    out = []
    for rule in dict.fromkeys(line.rule for line in report.lines):
        lines = [x for x in report.lines if x.rule == rule]
        short = sorted((x for x in lines if not x.compliant), key=lambda x: -x.remaining)
        furthest = tuple(
            (_scope_name(parse_scope(x.subject), units, reps), x.remaining) for x in short[:3]
        )
        out.append(RuleLine(rule, sum(x.compliant for x in lines), len(lines), furthest))
    return tuple(out)


def _scope_name(scope: Scope, units: Mapping[str, Unit], reps: Mapping[str, Rep]) -> str:
    if scope.kind == "unit" and scope.id is not None and scope.id in units:
        return units[scope.id].name
    if scope.kind == "rep" and scope.id is not None and scope.id in reps:
        return reps[scope.id].name
    roots = [u.name for u in units.values() if u.parent_id is None]
    return roots[0] if scope.kind == "company" and len(roots) == 1 else str(scope)
