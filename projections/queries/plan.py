"""Reverse funnel: a revenue target turned into required wins, opportunities, leads and visits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from projections.model.kpi import MetricDef
from projections.model.readmodel import ReadModel
from projections.model.scopes import parent_scope, scope_spans
from projections.queries.clock import as_of_day
from projections.queries.numbers import ceil_int, ratio
from schemas.periods import Period, Scope, as_period, as_scope

# Rates come from the TRAILING_DAYS before the period starts (or before the as-of day if
# that is earlier). A rate needs at least this much history in the scope, otherwise the
# parent unit's rate is used (then its parent's, up to the company), and the plan says so.
TRAILING_DAYS = 180
MIN_CLOSED = 10  # won + lost deals, for win rate and average deal size
MIN_VISITS = 20  # for opportunities per visit
MIN_LEADS = 20  # for opportunities per lead


@dataclass(frozen=True)
class Rate:
    """One historical rate, the scope it was taken from and the sample behind it."""

    name: str
    value: Decimal | None
    source: str
    sample: int


@dataclass(frozen=True)
class Plan:
    """What the target requires, given the rates of the scope (or its parents)."""

    scope: str
    period: str
    metric: str
    target: Decimal | None
    required_wins: int | None
    required_opportunities: int | None
    required_leads: int | None
    required_visits: int | None
    win_rate: Rate
    avg_deal_size: Rate
    opportunities_per_visit: Rate
    opportunities_per_lead: Rate
    window_start: date
    window_end: date  # exclusive
    fallback: bool
    notes: tuple[str, ...]


def _flows(rm: ReadModel, scope: Scope, start: date, end: date) -> dict[str, Decimal]:
    spans = scope_spans(scope, rm.units(), rm.reps(), start, end)
    out: dict[str, Decimal] = defaultdict(Decimal)
    for a in rm.activity_totals(spans) if spans else []:
        out[a.kind] += a.count
        if a.kind == "win":
            out["win_amount"] += a.amount
    return out


def _rates(f: dict[str, Decimal], source: str) -> dict[str, tuple[Rate, bool]]:
    closed = int(f["win"] + f["loss"])
    visits, leads = int(f["visit"]), int(f["lead"])
    return {
        "win_rate": (
            Rate("win_rate", ratio(f["win"], closed), source, closed),
            closed >= MIN_CLOSED,
        ),
        "avg_deal_size": (
            Rate("avg_deal_size", ratio(f["win_amount"], f["win"]), source, int(f["win"])),
            closed >= MIN_CLOSED and f["win"] > 0,
        ),
        "opportunities_per_visit": (
            Rate("opportunities_per_visit", ratio(f["opportunity"], visits), source, visits),
            visits >= MIN_VISITS,
        ),
        "opportunities_per_lead": (
            Rate("opportunities_per_lead", ratio(f["opportunity"], leads), source, leads),
            leads >= MIN_LEADS,
        ),
    }


def funnel_entry(definition: MetricDef | None) -> str:
    """Where a target on this metric enters the reverse funnel: `money` (divided by the
    average deal size into wins), `wins` or `opportunities` (the count itself), or `none`
    (a count of calls or visits is no step of the funnel: dividing it by a deal size, as
    if it were money, gave "25,734 calls -> 4 wins"). No definition: revenue, money."""
    if definition is None or definition.is_money:
        return "money"
    if definition.measure == "count" and not definition.where:
        if definition.event == "OpportunityWon":
            return "wins"
        if definition.event == "OpportunityCreated":
            return "opportunities"
    return "none"


def _divide(need: int | None, rate: Decimal | None) -> int | None:
    return None if need is None or not rate else ceil_int(Decimal(need) / rate)


def plan(
    rm: ReadModel,
    scope: Scope | str,
    period: Period | str,
    as_of: datetime,
    tz: tzinfo,
    metric: str = "revenue",
    definition: MetricDef | None = None,
) -> Plan:
    """The reverse funnel for the scope's target on `metric` (defined by `definition`)."""
    scope = as_scope(scope)
    period = as_period(period)
    end = min(period.start, as_of_day(as_of, tz) + timedelta(days=1))
    # (clamped: a period in year 1 has less than TRAILING_DAYS of calendar before it)
    start = end - timedelta(days=min(TRAILING_DAYS, (end - date.min).days))
    last_day = end - timedelta(days=1) if end > date.min else end
    units, reps = rm.units(), rm.reps()
    chosen: dict[str, Rate] = {}
    current: Scope | None = scope
    while current is not None and len(chosen) < 4:
        for name, (rate, enough) in _rates(_flows(rm, current, start, end), str(current)).items():
            # The company is the last resort: use whatever it has.
            if name not in chosen and (enough or current.kind == "company"):
                chosen[name] = rate
        current = parent_scope(current, units, reps, last_day)
    for name in ("win_rate", "avg_deal_size", "opportunities_per_visit", "opportunities_per_lead"):
        chosen.setdefault(name, Rate(name, None, str(scope), 0))
    notes = [
        f"{r.name} from {r.source}: {scope} has too little history "
        f"in the {TRAILING_DAYS} days before {end}"
        for r in chosen.values()
        if r.source != str(scope)
    ]
    targets = rm.targets(scope=str(scope), period=period.text, metric=metric)
    target = targets[0].value if targets else None
    if target is None:
        notes.append(f"no {metric} target is set for {scope} in {period.text}")
    entry = funnel_entry(definition)
    deal = chosen["avg_deal_size"].value
    wins = opps = None
    if target is not None and entry == "money":
        wins = None if not deal else ceil_int(target / deal)
    elif target is not None and entry == "wins":
        wins = ceil_int(target)
    if entry == "opportunities" and target is not None:
        opps = ceil_int(target)
    else:
        opps = _divide(wins, chosen["win_rate"].value)
    if target is not None and entry == "none":
        notes.append(
            f"{metric} is not a step of the sales funnel: a plan starts from a money target "
            "(e.g. revenue), wins or new opportunities"
        )
    return Plan(
        scope=str(scope),
        period=period.text,
        metric=metric,
        target=target,
        required_wins=wins,
        required_opportunities=opps,
        required_leads=_divide(opps, chosen["opportunities_per_lead"].value),
        required_visits=_divide(opps, chosen["opportunities_per_visit"].value),
        win_rate=chosen["win_rate"],
        avg_deal_size=chosen["avg_deal_size"],
        opportunities_per_visit=chosen["opportunities_per_visit"],
        opportunities_per_lead=chosen["opportunities_per_lead"],
        window_start=start,
        window_end=end,
        fallback=any(r.source != str(scope) for r in chosen.values()),
        notes=tuple(notes),
    )
