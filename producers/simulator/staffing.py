"""Staff changes over the simulated span: a few reps join later, transfer mid-month, or leave."""

from __future__ import annotations

from datetime import date
from random import Random

from producers.simulator.org import FOREVER, Org, Rep
from producers.simulator.rhythm import Clock, is_working_day

# (effective ts, event type, rep, new unit or None)
Change = tuple[int, str, Rep, str | None]

# Monthly rates relative to the starting headcount: a growing, moderately churning floor.
JOIN_RATE = 0.03
LEAVE_RATE = 0.025
MOVE_RATE = 0.025
JUNIOR = 0.75


def change_counts(n_reps: int, days: int) -> tuple[int, int, int]:
    """How many reps join, leave and transfer; at least one each on any non-trivial run."""
    scale = days / 30

    def count(rate: float) -> int:
        floor = 1 if n_reps >= 4 and days >= 5 else 0
        return max(floor, round(n_reps * rate * scale))

    return count(JOIN_RATE), min(count(LEAVE_RATE), n_reps // 4), count(MOVE_RATE)


def plan_staffing(rng: Random, org: Org, clock: Clock, first: int, days: int) -> list[Change]:
    """Adds the later joiners to `org`, sets leavers' and movers' dates; returns the changes."""
    initial = list(org.reps)
    n_join, n_leave, n_move = change_counts(len(initial), days)
    workdays = [o for o in range(first, first + days) if is_working_day(o)][1:]
    if not workdays:
        return []
    width = len(initial[0].rep_id) - 2
    changes: list[Change] = []

    # Joiners start on a weekday before work and are juniors; ids follow the joining order.
    for day in sorted(rng.choice(workdays) for _ in range(n_join)):
        team = rng.choice(org.teams).unit_id
        ts = clock.at(day, 8, 30)
        rep = org.new_rep(rng, len(org.reps) + 1, width, team, ts, JUNIOR)
        changes.append((ts, "RepJoined", rep, team))

    # Leavers go after the working day, once the run is under way.
    leavers = rng.sample(initial, n_leave)
    late_days = workdays[len(workdays) // 4 :]
    for rep in leavers:
        rep.left_ts = clock.at(rng.choice(late_days), 18, 30)
        changes.append((rep.left_ts, "RepLeft", rep, None))

    # Transfers take effect mid-month (the 8th..22nd where the span has such days), before
    # work, so the rep's month splits between two teams.
    if len(org.teams) > 1:
        mid = [o for o in workdays if 8 <= date.fromordinal(o).day <= 22] or workdays
        stayers = [r for r in initial if r.left_ts == FOREVER]
        movers = rng.sample(stayers, min(n_move, len(stayers)))
        for rep in movers:
            ts = clock.at(rng.choice(mid), 8, 45)
            to = rng.choice([t for t in org.teams if t.unit_id != rep.unit_id]).unit_id
            rep.moves.append((ts, to))
            org.members.setdefault(to, []).append(rep)
            changes.append((ts, "RepTransferred", rep, to))

    changes.sort(key=lambda c: (c[0], c[2].rep_id))
    return changes
