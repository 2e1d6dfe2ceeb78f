"""Top-down targets: the company's year -> quarters -> months, each month down the tree to reps.

Money is handled in integer cents and split by largest remainder, so children always add up
exactly to their parent; count targets are set per rep and summed up the tree.
"""

from __future__ import annotations

from random import Random

from producers.simulator.amounts import allocate, cents
from producers.simulator.org import Org, Rep, Unit
from producers.simulator.outbox import Outbox

# Seasonality: a slow start, a summer dip, a strong Q4 close.
MONTH_WEIGHTS = (0.82, 0.86, 1.0, 0.94, 0.98, 1.04, 0.88, 0.84, 1.04, 1.1, 1.16, 1.34)
# A rep of seniority 1.0 brings about this much revenue a month with the pipeline in
# pipeline.py (measured over long runs); the plan stretches it a little.
REVENUE_PER_REP_MONTH_CENTS = 40_000_00
STRETCH = 1.05
# Behaviour targets per working day for seniority 1.0, a bit under the simulated averages so
# most reps make them and some do not.
COUNT_TARGETS_PER_DAY = {"calls": 26.0, "f2f_visits": 3.4, "new_opportunities": 2.0}


def _set(out: Outbox, ts: int, scope: str, metric: str, period: str, value: str) -> None:
    out.org(ts, "TargetSet", {"scope": scope, "metric": metric, "period": period, "value": value})


def year_plan(out: Outbox, ts: int, year: int, headcount: float) -> dict[int, int]:
    """Company revenue for the year, its quarters and months; returns month -> cents."""
    raw = headcount * REVENUE_PER_REP_MONTH_CENTS * 12 * STRETCH
    total = round(raw / 100_000) * 100_000  # planners round the headline to $1,000
    _set(out, ts, "company", "revenue", f"{year}", cents(total))
    quarter_weights = [sum(MONTH_WEIGHTS[3 * q : 3 * q + 3]) for q in range(4)]
    months: dict[int, int] = {}
    for q, q_total in enumerate(allocate(total, quarter_weights)):
        _set(out, ts, "company", "revenue", f"{year}-Q{q + 1}", cents(q_total))
        for i, m_total in enumerate(allocate(q_total, MONTH_WEIGHTS[3 * q : 3 * q + 3])):
            months[3 * q + i + 1] = m_total
            _set(out, ts, "company", "revenue", f"{year}-{3 * q + i + 1:02d}", cents(m_total))
    return months


def month_plan(
    out: Outbox,
    rng: Random,
    ts: int,
    org: Org,
    roster: dict[str, list[Rep]],
    period: str,
    company_cents: int,
    workdays: int,
) -> None:
    """Split one month's company revenue down to reps; behaviour targets per rep, summed up."""
    team_weight = {
        t.unit_id: t.territory * sum(r.seniority for r in roster[t.unit_id]) for t in org.teams
    }
    depts = org.departments
    dept_teams = {d.unit_id: org.children(d.unit_id) for d in depts}
    dept_weights = [
        d.territory * sum(team_weight[t.unit_id] for t in dept_teams[d.unit_id]) for d in depts
    ]
    rep_revenue: dict[str, int] = {}
    for dept, d_total in zip(depts, allocate(company_cents, dept_weights), strict=True):
        _set(out, ts, f"unit:{dept.unit_id}", "revenue", period, cents(d_total))
        teams = dept_teams[dept.unit_id]
        for team, t_total in zip(
            teams, allocate(d_total, [team_weight[t.unit_id] for t in teams]), strict=True
        ):
            _set(out, ts, f"unit:{team.unit_id}", "revenue", period, cents(t_total))
            reps = roster[team.unit_id]
            for rep, r_total in zip(
                reps, allocate(t_total, [r.seniority for r in reps]), strict=True
            ):
                rep_revenue[rep.rep_id] = r_total
                _set(out, ts, f"rep:{rep.rep_id}", "revenue", period, cents(r_total))
    for metric, per_day in COUNT_TARGETS_PER_DAY.items():
        _count_targets(out, ts, org, roster, period, metric, per_day * workdays)
    _rebalance(out, rng, ts + 1800, roster, period, rep_revenue)
    for unit in org.units:
        scope = "company" if unit.kind == "company" else f"unit:{unit.unit_id}"
        out.org(ts + 3600, "TargetsLocked", {"scope": scope, "period": period})


def _count_targets(
    out: Outbox,
    ts: int,
    org: Org,
    roster: dict[str, list[Rep]],
    period: str,
    metric: str,
    per_rep: float,
) -> None:
    totals = {team.unit_id: 0 for team in org.teams}
    for team in org.teams:
        for rep in roster[team.unit_id]:
            value = round(per_rep * (0.6 + 0.4 * rep.seniority))
            totals[team.unit_id] += value
            _set(out, ts, f"rep:{rep.rep_id}", metric, period, str(value))
    # Bottom-up for counts: a unit's number is what its people are asked to do.
    for unit in reversed(org.units):
        if unit.kind != "team":
            totals[unit.unit_id] = sum(totals[c.unit_id] for c in _children(org, unit))
        scope = "company" if unit.kind == "company" else f"unit:{unit.unit_id}"
        _set(out, ts, scope, metric, period, str(totals[unit.unit_id]))


def _children(org: Org, unit: Unit) -> list[Unit]:
    return org.departments if unit.kind == "company" else org.children(unit.unit_id)


def _rebalance(
    out: Outbox,
    rng: Random,
    ts: int,
    roster: dict[str, list[Rep]],
    period: str,
    rep_revenue: dict[str, int],
) -> None:
    """A team lead moves part of one rep's target to a team-mate: a later TargetSet replaces
    the earlier one and the team's total is unchanged."""
    teams = [reps for _, reps in sorted(roster.items()) if len(reps) >= 2]
    if not teams or rng.random() < 0.4:
        return
    giver, taker = rng.sample(rng.choice(teams), 2)
    moved = rep_revenue[giver.rep_id] * rng.randint(5, 15) // 100
    rep_revenue[giver.rep_id] -= moved
    rep_revenue[taker.rep_id] += moved
    for rep in (giver, taker):
        _set(out, ts, f"rep:{rep.rep_id}", "revenue", period, cents(rep_revenue[rep.rep_id]))
