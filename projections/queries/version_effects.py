"""What activating a candidate KPI version would change in a period, in people's terms.

Beside the per-scope metric differences (preview.compare_scopes): each rep's completion of a
target before and after, each leaderboard place that moves, and for every behaviour rule of
either version how many reps miss it before and after ("the new visit rule puts 7 reps under
15 face-to-face visits"). Targets, the org and memberships come from the active version (they
do not depend on the KPI definitions); each version's numbers from its own read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions
from projections.model.readmodel import ReadModel
from projections.queries.behaviour import behaviour
from projections.queries.clock import as_of_day, through
from projections.queries.goals import actuals
from projections.queries.leaderboard import leaderboard
from projections.queries.numbers import ratio
from projections.queries.preview import ScopeDiff, compare_scopes
from schemas.periods import Period, Scope, as_period

MAX_CHANGES = 50  # the largest differences; a page lists no more


@dataclass(frozen=True)
class CompletionChange:
    rep_id: str
    metric: str
    target: Decimal
    before: Decimal | None
    after: Decimal | None


@dataclass(frozen=True)
class RankChange:
    rep_id: str
    metric: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class RuleEffect:
    """A rule of either version: reps missing it now and under the candidate (None: no rule)."""

    rule: str
    metric: str
    required: Decimal
    missing_before: int | None
    missing_after: int | None
    newly_missing: tuple[str, ...]  # rep ids that meet it now and would miss it


@dataclass(frozen=True)
class VersionEffects:
    period: str
    changes: tuple[ScopeDiff, ...]
    completion: tuple[CompletionChange, ...]
    ranks: tuple[RankChange, ...]
    rules: tuple[RuleEffect, ...]


def _completion_order(c: CompletionChange) -> tuple[Decimal, str, str]:
    # The largest move first.
    move = (c.after or Decimal(0)) - (c.before or Decimal(0))
    return (-abs(move), c.metric, c.rep_id)


def _missing(
    rm: ReadModel, kpis: KpiDefinitions, period: Period, as_of: datetime, tz: tzinfo
) -> dict[str, set[str]]:
    """Rule text -> the reps (or units) missing it, company-wide."""
    report = behaviour(rm, kpis, Scope("company"), period, as_of, tz)
    out: dict[str, set[str]] = {r.text: set() for r in kpis.rules}
    for line in report.lines:
        if not line.compliant:
            out[line.rule].add(line.subject.split(":", 1)[1])
    return out


def version_effects(
    active: ReadModel,
    active_kpis: KpiDefinitions,
    candidate: ReadModel,
    candidate_kpis: KpiDefinitions,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
) -> VersionEffects:
    """The candidate against the active version over the period's elapsed days."""
    period = as_period(period)
    last_day = as_of_day(as_of, tz)
    start, end = through(period, last_day)
    changes = compare_scopes(active, active_kpis, candidate, candidate_kpis, start, end)
    shared = [m for m in active_kpis.metrics if m in candidate_kpis.metrics]

    completion = []
    for t in active.targets(period=period.text):
        if not t.scope.startswith("rep:") or t.metric not in shared or t.value <= 0:
            continue
        scope = Scope("rep", t.scope[4:])
        before = actuals(active, [t.metric], scope, period, last_day)[t.metric]
        after = actuals(candidate, [t.metric], scope, period, last_day)[t.metric]
        if before != after:
            completion.append(
                CompletionChange(
                    scope.id or "", t.metric, t.value, ratio(before, t.value), ratio(after, t.value)
                )
            )
    completion.sort(key=_completion_order)

    ranks = []
    for metric in shared:
        a = {e.rep_id: e.rank for e in leaderboard(active, metric, period, as_of, tz).entries}
        c = {e.rep_id: e.rank for e in leaderboard(candidate, metric, period, as_of, tz).entries}
        ranks += [
            RankChange(rep, metric, a.get(rep), c.get(rep))
            for rep in sorted(set(a) | set(c))
            if a.get(rep) != c.get(rep)
        ]

    missing_now = _missing(active, active_kpis, period, as_of, tz)
    missing_then = _missing(candidate, candidate_kpis, period, as_of, tz)
    rules = []
    by_text = {r.text: r for r in (*active_kpis.rules, *candidate_kpis.rules)}
    for text, rule in by_text.items():
        was, will = missing_now.get(text), missing_then.get(text)
        newly = tuple(sorted((will or set()) - (was or set()))) if will is not None else ()
        rules.append(
            RuleEffect(
                text,
                rule.metric,
                rule.required,
                None if was is None else len(was),
                None if will is None else len(will),
                newly,
            )
        )
    return VersionEffects(
        period.text, tuple(changes[:MAX_CHANGES]), tuple(completion), tuple(ranks), tuple(rules)
    )
