"""Behaviour compliance: each rule's actual, required, remaining and needed pace per subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import KpiDefinitions, Rule
from projections.model.readmodel import ReadModel
from projections.model.scopes import members_on, unit_on
from projections.queries.clock import as_of_day, days_left
from projections.queries.goals import actuals
from projections.queries.numbers import TWO, ceil_to, q
from schemas.periods import (
    Period,
    Scope,
    as_period,
    as_scope,
    period_containing,
)


@dataclass(frozen=True)
class RuleStatus:
    """One rule for one subject (a rep, or a unit for per-unit rules) in the period.

    days_left counts the days after the as-of day; needed_per_day = remaining / days_left,
    rounded up to 0.01 (None once no day is left, and for `<=` rules, which cap rather
    than require). A rule for another period kind is prorated by days (prorated = True).
    """

    rule: str
    metric: str
    subject: str
    period: str
    actual: Decimal
    required: Decimal
    remaining: Decimal  # still to do for `>=`; allowance left for `<=`
    days_left: int
    needed_per_day: Decimal | None
    compliant: bool
    prorated: bool


@dataclass(frozen=True)
class BehaviourReport:
    """Every applicable rule for a scope and period, as of a day."""

    scope: str
    period: str
    as_of_day: date
    lines: tuple[RuleStatus, ...]


def required_in(rule: Rule, period: Period) -> tuple[Decimal, bool]:
    """The rule's requirement for the period, prorated by days if its kind differs."""
    if rule.period_kind == period.kind:
        return rule.required, False
    rule_days = period_containing(period.start, rule.period_kind).days
    return q(rule.required * period.days / rule_days, TWO), True


def rule_status(
    rule: Rule, subject: Scope, actual: Decimal, period: Period, last_day: date
) -> RuleStatus:
    """Compliance arithmetic of one rule for one subject."""
    required, prorated = required_in(rule, period)
    left = days_left(period, last_day)
    remaining = max(Decimal(0), required - actual)
    needed = None
    if rule.op == ">=" and left > 0:
        needed = ceil_to(remaining / left)
    compliant = actual >= required if rule.op == ">=" else actual <= required
    return RuleStatus(
        rule.text,
        rule.metric,
        str(subject),
        period.text,
        actual,
        required,
        remaining,
        left,
        needed,
        compliant,
        prorated,
    )


def _subjects(rule: Rule, scope: Scope, rm: ReadModel, day: date) -> list[Scope]:
    units = rm.units()
    if rule.per == "rep":
        if scope.kind == "rep":
            return [scope]
        if scope.kind == "unit":
            return [Scope("rep", r) for r in members_on(units, rm.reps(), scope.id or "", day)]
        active = [r.rep_id for r in rm.reps().values() if unit_on(r, day) is not None]
        return [Scope("rep", r) for r in sorted(active)]
    if rule.per == "company":
        return [scope] if scope.kind == "company" else []
    unit = units.get(scope.id or "") if scope.kind == "unit" else None
    if unit is None:
        return []
    kind_ok = rule.per == "unit" or unit.kind == "team"
    return [scope] if kind_ok else []


def behaviour(
    rm: ReadModel,
    kpis: KpiDefinitions,
    scope: Scope | str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
) -> BehaviourReport:
    """Every rule applicable to the scope: per-rep rules list each rep of a unit or company."""
    scope = as_scope(scope)
    period = as_period(period)
    last_day = as_of_day(as_of, tz)
    # Subjects are the reps of the scope on the as-of day, clamped into the period.
    member_day = min(max(last_day, period.start), period.end - timedelta(days=1))
    lines = []
    for rule in kpis.rules:
        for subject in _subjects(rule, scope, rm, member_day):
            actual = actuals(rm, [rule.metric], subject, period, last_day)[rule.metric]
            lines.append(rule_status(rule, subject, actual, period, last_day))
    return BehaviourReport(str(scope), period.text, last_day, tuple(lines))
