"""Every query over a read model, for scopes and periods taken from the oracle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.readmodel import ReadModel, RepSpan
from projections.queries.behaviour import behaviour
from projections.queries.daily import daily_report
from projections.queries.funnel import funnel
from projections.queries.goals import goal_progress
from projections.queries.leaderboard import contest, leaderboard
from projections.queries.plan import plan
from salespulse.runtime import fold_context

Query = Callable[[ReadModel], Any]


def _periods(first: date, last: date) -> list[str]:
    """The year, each quarter and month touched, one ISO week and one day in the middle."""
    middle = first + (last - first) / 2
    iso = middle.isocalendar()
    periods = {str(first.year), f"{middle.isocalendar().year}-W{iso.week:02d}", middle.isoformat()}
    day = first
    while day <= last:
        periods.add(f"{day.year}-{day.month:02d}")
        periods.add(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
        day += timedelta(days=28)
    periods.add(f"{last.year}-{last.month:02d}")
    return sorted(periods)


def query_suite(
    oracle: ReadModel, ctx: FoldContext, as_of: datetime, first: date, last: date
) -> dict[str, Query]:
    """Named queries covering every query function over company, every unit and some reps."""
    k, tz = ctx.kpis, ctx.tz
    units = sorted(oracle.units())
    reps = sorted(oracle.reps())
    teams = sorted(u for u, unit in oracle.units().items() if unit.kind == "team")
    scopes = [
        "company",
        *(f"unit:{u}" for u in units),
        *(f"rep:{r}" for r in reps[:: max(1, len(reps) // 4)]),
    ]
    suite: dict[str, Query] = {}
    for period in _periods(first, last):
        for scope in scopes:
            suite[f"goals {scope} {period}"] = lambda rm, s=scope, p=period: goal_progress(
                rm, k, s, p, as_of, tz
            )
            suite[f"funnel {scope} {period}"] = lambda rm, s=scope, p=period: funnel(
                rm, k, s, p, as_of, tz
            )
            suite[f"behaviour {scope} {period}"] = lambda rm, s=scope, p=period: behaviour(
                rm, k, s, p, as_of, tz
            )
            suite[f"plan {scope} {period}"] = lambda rm, s=scope, p=period: plan(
                rm, s, p, as_of, tz
            )
        for metric in ("revenue", "f2f_visits", "wins", "payments"):
            suite[f"leaderboard {metric} {period}"] = lambda rm, m=metric, p=period: leaderboard(
                rm, m, p, as_of, tz
            )
            suite[f"contest {metric} {period}"] = lambda rm, m=metric, p=period: contest(
                rm, m, p, teams, as_of, tz
            )
    day = first
    while day <= last:
        for rep in reps[:3]:
            suite[f"daily {rep} {day}"] = lambda rm, r=rep, d=day: daily_report(rm, k, r, d, tz)
        day += timedelta(days=7)
    everything = [RepSpan(r, date(2000, 1, 1), date(2100, 1, 1)) for r in reps]
    suite["raw metric totals"] = lambda rm: rm.metric_totals(list(k.metrics), everything)
    suite["raw targets"] = lambda rm: rm.targets()
    suite["raw opportunities"] = lambda rm: rm.opportunities()
    suite["raw deal wins"] = lambda rm: rm.deal_wins()
    return suite


def empty_reports(suite: dict[str, Query], model: ReadModel) -> list[str]:
    """Goals and plan queries whose report is empty (no metric with a target, no target):
    a comparison of two of those would prove nothing."""
    empty = []
    for name, query in suite.items():
        kind = name.split()[0]
        if (kind == "goals" and not query(model).lines) or (
            kind == "plan" and query(model).target is None
        ):
            empty.append(name)
    return empty


def counted(suite: dict[str, Query], kind: str) -> int:
    """How many queries of a kind (goals, plan, funnel, ...) the suite holds."""
    return sum(name.split()[0] == kind for name in suite)


def differences(suite: dict[str, Query], actual: ReadModel, expected: ReadModel) -> list[str]:
    """Names of the queries whose results differ (empty when the two read models agree)."""
    return [name for name, query in suite.items() if query(actual) != query(expected)]


def explain(suite: dict[str, Query], name: str, actual: ReadModel, expected: ReadModel) -> str:
    """The two results of one query, for a failing comparison's message."""
    return f"{name}:\n  actual:   {suite[name](actual)!r}\n  expected: {suite[name](expected)!r}"


def assert_store_is_the_oracle(
    deployment: Any, events: Sequence[Any], start: date, end: date, as_of: datetime
) -> None:
    """Every query of a deployment's active version answers as the oracle's (the pure fold
    over `events`), and every event id is applied exactly once: nothing lost, nothing twice.
    `deployment`: tests.integration.conftest.Deployment (its settings and store())."""
    ctx = fold_context(deployment.settings)
    oracle = build_oracle(events, ctx)
    suite = query_suite(oracle, ctx, as_of, start, end)
    with deployment.store() as store, store.snapshot() as snapshot:
        assert differences(suite, snapshot, oracle) == []
        applied = snapshot.conn.execute(
            f"SELECT count(*) FROM {store.schema}.applied_events"
        ).fetchone()
    assert applied == (len({e.event_id for e in events}),)
