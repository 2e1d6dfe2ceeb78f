"""The API side of the target lock rule (projections/locks.py): the locks it reads and shows."""

from __future__ import annotations

from projections.model.readmodel import ReadModel, TargetLock
from projections.targets.locks import LockBook, covers
from salespulse.api.deps import ApiContext
from salespulse.api.errors import NoActiveVersion
from salespulse.api.models import LockOut
from schemas.periods import Period, Scope

# How a refusal tells an HTTP client what to do (the CLI says --override-locks).
HTTP_OVERRIDE_HINT = "an admin may resubmit with ?override_locks=true"


def lock_book(ctx: ApiContext) -> LockBook:
    """Every lock the active projection version knows, with its org tree."""
    try:
        with ctx.read_side() as view:
            return LockBook.of(view.model)
    except NoActiveVersion:
        # Nothing has been projected yet, so no lock is known: a fresh deployment must be
        # able to take its first targets before the worker has started.
        return LockBook()


def covering_locks(model: ReadModel, scope: Scope, period: Period) -> list[TargetLock]:
    """The locks that freeze the target of (scope, period), oldest first."""
    units, reps = model.units(), model.reps()
    found = [x for x in model.target_locks() if covers(x, scope, period, units, reps)]
    return sorted(found, key=lambda x: (x.at, x.event_id))


def lock_out(lock: TargetLock) -> LockOut:
    return LockOut(
        scope=lock.scope,
        period=lock.period,
        at=lock.at,
        event_id=str(lock.event_id),
        set_by=lock.set_by,
    )
