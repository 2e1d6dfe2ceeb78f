"""Assembles a run day by day and streams it in publish order (a generator, bounded memory)."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import date
from random import Random
from typing import Any

from producers.simulator import activity, pipeline, targets
from producers.simulator.config import SimConfig
from producers.simulator.context import Sim
from producers.simulator.org import Org, build_org
from producers.simulator.outbox import Emitted, Outbox
from producers.simulator.rhythm import FRIDAY, FRIDAY_FACTOR, Clock, is_working_day, weekday
from producers.simulator.staffing import change_counts, plan_staffing


def iter_emitted(config: SimConfig) -> Iterator[Emitted]:
    """Every event of the run in publish order, with its times (see `outbox.Emitted`)."""
    rng = Random(config.seed)
    clock = Clock(config.zone)
    first = config.start.toordinal()
    last = first + config.days  # exclusive
    setup = clock.at(first, 6)  # the org is set up before the first working day starts
    out = Outbox(rng, clock, clock.hour_starts(last)[0])
    joiners = change_counts(config.reps, config.days)[0]
    org = build_org(rng, config.reps, setup + 600, config.reps + joiners)
    initial = list(org.reps)
    sim = Sim(rng, clock, out, org, config.base_currency, config.currencies, config.foreign_share)
    sim.fixes = Random(f"{config.seed}:corrections")
    changes = plan_staffing(rng, org, clock, first, config.days)

    for i, unit in enumerate(org.units):
        data = {"unit_id": unit.unit_id, "name": unit.name, "kind": unit.kind}
        out.org(setup + i, "UnitDefined", {**data, "parent_id": unit.parent_id})
    for rep in initial:
        out.org(rep.joined_ts, "RepJoined", {"name": rep.name, "unit_id": rep.unit_id}, rep.rep_id)
    for ts, kind, rep, unit_id in changes:
        if kind == "RepJoined":
            data = {"name": rep.name, "unit_id": str(unit_id)}
        else:
            data = {} if unit_id is None else {"unit_id": unit_id}
        out.org(ts, kind, data, rep.rep_id)

    month_totals: dict[tuple[int, int], int] = {}
    for day in range(first, last):
        d = date.fromordinal(day)
        day_end = clock.hour_starts(day)[24]
        out.begin(day_end)
        if day == first or d.day == 1:
            # Plans are made before the day starts: the year's at its start, each month's
            # split over the people on the floor at that moment.
            ts = setup + 1200 if day == first else clock.at(day, 6)
            if day == first or d.month == 1:
                headcount = sum(r.seniority for r in org.reps if r.active_at(ts))
                for month, value in targets.year_plan(out, ts, d.year, headcount).items():
                    month_totals[(d.year, month)] = value
            _plan_month(sim, org, ts + 600, d, month_totals)
        if day == first:
            for rep in initial:
                pipeline.import_pipeline(sim, rep, day, setup + 2400)
        if is_working_day(day):
            _work(sim, org, day)
        yield from out.drain(day_end)
    yield from out.drain()


def _plan_month(sim: Sim, org: Org, ts: int, d: date, totals: dict[tuple[int, int], int]) -> None:
    """Split the company's month down to every rep on the floor at `ts`."""
    first = date(d.year, d.month, 1).toordinal()
    days = calendar.monthrange(d.year, d.month)[1]
    workdays = sum(1 for o in range(first, first + days) if is_working_day(o))
    period = f"{d.year:04d}-{d.month:02d}"
    total = totals[(d.year, d.month)]
    targets.month_plan(sim.out, sim.rng, ts, org, org.roster(ts), period, total, workdays)


def _work(sim: Sim, org: Org, day: int) -> None:
    """One weekday for everyone on the floor."""
    rng = sim.rng
    nine = sim.clock.at(day, 9)
    friday = FRIDAY_FACTOR if weekday(day) == FRIDAY else 1.0
    for rep in org.reps:
        if not rep.active_at(nine):
            continue
        mood = rng.uniform(0.75, 1.25) * friday  # good days and bad days
        activity.rep_day(sim, rep, day, mood * (0.85 + 0.15 * rep.seniority))
        pipeline.rep_day(sim, rep, day, mood * (0.6 + 0.4 * rep.seniority))


def iter_lines(config: SimConfig) -> Iterator[str]:
    """The run as JSON lines (no trailing newline), keys in a stable order."""
    for emitted in iter_emitted(config):
        yield emitted[3]


def iter_events(config: SimConfig) -> Iterator[dict[str, Any]]:
    """The run as JSON-like dicts (the input of `schemas.events.parse_event`)."""
    loads = json.loads
    for emitted in iter_emitted(config):
        yield loads(emitted[3])
