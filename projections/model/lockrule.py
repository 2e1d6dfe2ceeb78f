"""The lock rule of the fold: a TargetSet that comes after its target's lock does not count.

"After" is by (occurred_at, event_id), the order every projection already uses, so the rule
gives the same current target in the live worker, a replay and the oracle, whichever of the
lock and the TargetSet a worker happened to apply first (the edge's guard reads projections
that lag: a TargetSet sent 14 ms after a new lock got through it). An admin's override
(`override: true`) counts anyway. This covers a lock on the target's own scope and period;
locks on a unit above it are the edge's to enforce (projections/targets/locks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def refused_by_lock(target: Any, lock: Any | None) -> bool:
    """Whether `lock` (the first TargetsLocked of the target's scope and period) refuses it."""
    if lock is None or target.override:
        return False
    return bool((target.at, target.event_id) > (lock.at, lock.event_id))


def current_targets(history: Iterable[Any], locks: Mapping[tuple[str, str], Any]) -> list[Any]:
    """The current TargetSet of each (scope, metric, period): the latest one not refused."""
    best: dict[tuple[str, str, str], Any] = {}
    for t in history:
        if refused_by_lock(t, locks.get((t.scope, t.period))):
            continue
        key = (t.scope, t.metric, t.period)
        old = best.get(key)
        if old is None or (t.at, t.event_id) > (old.at, old.event_id):
            best[key] = t
    return [best[k] for k in sorted(best)]
