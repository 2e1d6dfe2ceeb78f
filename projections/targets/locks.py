"""Target locks: which TargetsLocked covers a target, and the one check every edge applies.

The rule (DESIGN.md Part B, TargetsLocked): a lock (scope, period) freezes that period's
targets for the scope and its subtree.
- A `company` lock covers every scope.
- A `unit:X` lock covers unit:X, every unit below X (the tree as currently defined) and every
  rep who belonged to one of them on some day of the period (membership at event time, as
  goals count it); a lock on the company-kind unit also covers `company`.
- A `rep:R` lock covers rep:R only.
- Only the same period: a lock on 2026-11 freezes neither 2026-Q4 nor 2026-W45, which are
  targets of their own (lock them too to freeze them).
When several locks cover a target, the earliest by (at, event_id) is the one named.

Every edge that writes targets (`salespulse produce`, `salespulse targets split`,
`POST /api/events`, `POST /api/targets/split`) runs its events, in input order, through one
`TargetGuard` over the projections' locks: a TargetSet under a lock is refused unless an
admin explicitly overrides it, in which case it is published with `override: true` and the
acting admin as `set_by`, so the override stays visible in the target's history. A lock
counts once the worker has projected it, or when it came earlier in the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from projections.model.readmodel import ReadModel, Rep, TargetLock, Unit
from projections.model.scopes import subtree, unit_spans
from schemas.events import AnyEvent
from schemas.periods import Period, Scope, parse_period, parse_scope


def covers(
    lock: TargetLock,
    scope: Scope,
    period: Period,
    units: Mapping[str, Unit],
    reps: Mapping[str, Rep],
) -> bool:
    """Whether the lock freezes the target of `scope` for `period` (the module's rule)."""
    if parse_period(lock.period).text != period.text:
        return False
    if lock.scope == "company" or lock.scope == str(scope):
        return True
    locked = parse_scope(lock.scope)
    if locked.kind != "unit" or locked.id is None:
        return False
    if scope.kind == "company":
        unit = units.get(locked.id)
        return unit is not None and unit.kind == "company"
    tree = subtree(units, locked.id)
    if scope.kind == "unit":
        return scope.id in tree
    rep = reps.get(scope.id or "")
    return rep is not None and bool(unit_spans(rep, tree, period.start, period.end))


class LockBook:
    """The known locks with the org they are resolved against."""

    def __init__(
        self,
        locks: Iterable[TargetLock] = (),
        units: Mapping[str, Unit] | None = None,
        reps: Mapping[str, Rep] | None = None,
    ) -> None:
        self.locks = sorted(locks, key=lambda x: (x.at, x.event_id))
        self.units: Mapping[str, Unit] = units or {}
        self.reps: Mapping[str, Rep] = reps or {}

    @classmethod
    def of(cls, read_model: ReadModel) -> LockBook:
        """Every lock the projections know, and the org tree they apply to."""
        return cls(read_model.target_locks(), read_model.units(), read_model.reps())

    def add(self, lock: TargetLock) -> None:
        """A lock seen earlier in the same input (not yet projected)."""
        self.locks = sorted([*self.locks, lock], key=lambda x: (x.at, x.event_id))

    def covering(self, scope: str, period: str) -> TargetLock | None:
        """The earliest lock that freezes the target of (scope, period), if any."""
        parsed_scope, parsed_period = parse_scope(scope), parse_period(period)
        return next(
            (
                x
                for x in self.locks
                if covers(x, parsed_scope, parsed_period, self.units, self.reps)
            ),
            None,
        )


def describe(lock: TargetLock) -> str:
    """The lock named in an error: its event, scope, period, who locked and when."""
    who = f" by {lock.set_by}" if lock.set_by else ""
    return (
        f"TargetsLocked {lock.event_id} ({lock.scope} {lock.period}, "
        f"locked{who} at {lock.at.isoformat()})"
    )


@dataclass(frozen=True)
class Refusal:
    """A TargetSet the guard refused: the field to blame, why, and the lock if one."""

    field: str
    reason: str
    lock: TargetLock | None = None


class TargetGuard:
    """Checks the TargetSet and TargetsLocked events of one input, in order.

    `load` reads the locks when the first target event arrives (an input without any needs
    no database). `override` is the edge's explicit admin override (`?override_locks=true`,
    `--override-locks`); a TargetSet that itself carries `override: true` counts as one only
    when `may_override` (the caller is an admin). `set_by` fills events that name nobody and
    replaces the name on an override, which is the acting admin's.
    """

    def __init__(
        self,
        load: Callable[[], LockBook],
        *,
        set_by: str | None = None,
        override: bool = False,
        may_override: bool = True,
        hint: str = "an admin may override the lock",
    ) -> None:
        self._load = load
        self._book: LockBook | None = None
        self.set_by = set_by
        self.override = override
        self.may_override = may_override
        self.hint = hint

    @property
    def book(self) -> LockBook:
        if self._book is None:
            self._book = self._load()
        return self._book

    def check(self, event: AnyEvent) -> AnyEvent | Refusal:
        """The event to publish (stamped with set_by / override), or why it is refused."""
        data: Any = event.data
        if event.type == "TargetsLocked":
            event = _with_data(event, set_by=data.set_by or self.set_by)
            stamped: Any = event.data
            lock = TargetLock(
                data.scope, data.period, event.occurred_at, event.event_id, stamped.set_by
            )
            self.book.add(lock)
            return event
        if event.type != "TargetSet":
            return event
        if data.override and not self.may_override:
            return Refusal("data.override", "only an admin may override target locks")
        covering = self.book.covering(data.scope, data.period)
        if covering is None:
            return _with_data(event, set_by=data.set_by or self.set_by)
        if not (self.override or data.override):
            reason = (
                f"targets of {data.scope} for {data.period} are locked by "
                f"{describe(covering)}; {self.hint}"
            )
            return Refusal("data.period", reason, covering)
        return _with_data(event, set_by=self.set_by or data.set_by, override=True)


def _with_data(event: AnyEvent, **changes: Any) -> AnyEvent:
    data = event.data
    update = {k: v for k, v in changes.items() if getattr(data, k) != v}
    if not update:
        return event
    return event.model_copy(update={"data": data.model_copy(update=update)})
