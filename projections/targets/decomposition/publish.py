"""Publishing a plan exactly once and only where no lock forbids it.

Shared by `salespulse targets split` and `POST /api/targets/split`, so both decide the same:

- Idempotence: a split's event_ids are deterministic (plan.py), so the events of this
  decomposition already in the projections' target history are left out; when all are
  there, nothing is published ("decomposition <id> already published: 0 new events").
  Events published but not projected yet go out again, which is harmless: the store counts
  an event_id once.
- Locks: the edge admits the new events as one (producers/admission.py `as_one`, with the
  TargetGuard of projections/targets/locks.py): if any child is refused, none is published —
  a split is one decision, and half of it would leave the children not adding up to the
  parent. `Publication.admitted` records that outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from projections.model.readmodel import ReadModel
from projections.targets.decomposition.plan import Plan
from schemas.events import AnyEvent, parse_event


@dataclass(frozen=True)
class Publication:
    """What publishing a plan would do: the new (checked) events, or why it cannot."""

    plan: Plan
    new: tuple[AnyEvent, ...]  # to publish, stamped with set_by / override
    already: int  # events of the plan already in the projections
    # Why the edge refused to admit them (a lock's Refusal names it); non-empty: publish nothing.
    refusals: tuple[Any, ...]

    def admitted(self, events: Sequence[AnyEvent], refusals: Sequence[Any]) -> Publication:
        """The outcome of admitting `new` as one: the stamped events, or the refusals."""
        if refusals:
            return replace(self, new=(), refusals=tuple(refusals))
        return replace(self, new=tuple(events))

    @property
    def total(self) -> int:
        return len(self.plan.allocations)

    def summary(self) -> str:
        """One line for the operator: what is (or was already) published."""
        ident = f"decomposition {self.plan.decomposition_id}"
        if self.refusals:
            return f"{ident} refused: {len(self.refusals)} of {self.total} target(s) locked"
        if not self.new:
            return f"{ident} already published: 0 new events"
        if self.already:
            return (
                f"{ident}: {self.already} of {self.total} event(s) already published; "
                f"{len(self.new)} new"
            )
        return f"{ident}: {len(self.new)} new event(s)"


def prepare(
    plan: Plan, at: datetime, read_model: ReadModel | None, set_by: str | None = None
) -> Publication:
    """What of the plan is new against the projections (None: nothing known yet)."""
    events = [parse_event(e) for e in plan.events(at, set_by)]
    known = (
        {t.event_id for t in read_model.decomposition_targets(plan.decomposition_id)}
        if read_model is not None
        else set()
    )
    new = tuple(e for e in events if e.event_id not in known)
    return Publication(plan, new, len(events) - len(new), ())
