"""What the demo simulates and how far it got, kept in the state folder so a second run resumes.

One simulated run covers the history (the last `days` days up to now, published at once) and
a year after it that is released live at a steady rate. The run is deterministic in its
parameters, so remembering them and the count of events already published is enough to
continue the same organisation later instead of announcing a second one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

from producers.simulator import SimConfig, iter_emitted
from producers.simulator.outbox import Emitted

# Simulated days available to the live producer after the history: at 30 events/s a 40-rep
# org uses about a simulated day a minute, so a year lasts a working day of demo.
LIVE_DAYS = 365


@dataclass(frozen=True)
class DemoPlan:
    """A simulated run, and how many of its events (in publish order) are already out."""

    reps: int
    seed: int
    start: date
    days: int  # simulated days in all: history and live
    history_days: int  # the first days, published at once (0: everything is live)
    tz: str
    base_currency: str
    published: int = 0  # when 0 for a plan with history, the history is (re)published

    @classmethod
    def history_until_today(
        cls, reps: int, history_days: int, seed: int, today: date, tz: str, base_currency: str
    ) -> DemoPlan:
        """`history_days` days ending with today (today's events up to now are history)."""
        start = today - timedelta(days=history_days - 1)
        return cls(reps, seed, start, history_days + LIVE_DAYS, history_days, tz, base_currency)

    @classmethod
    def live_from_today(cls, reps: int, today: date, tz: str, base_currency: str) -> DemoPlan:
        """A new organisation starting today, entirely live (for a log the demo did not write:
        a fresh seed keeps its event ids from colliding with anything already there)."""
        return cls(reps, secrets.randbelow(2**31), today, LIVE_DAYS, 0, tz, base_currency)

    def config(self) -> SimConfig:
        return SimConfig(
            reps=self.reps,
            days=self.days,
            seed=self.seed,
            start=self.start,
            tz=self.tz,
            base_currency=self.base_currency,
        )

    def remaining(self) -> Iterator[Emitted]:
        """The run's events in publish order, after those already published."""
        return islice(iter_emitted(self.config()), self.published, None)

    def advanced(self, count: int) -> DemoPlan:
        return replace(self, published=self.published + count)


def load_plan(path: Path) -> DemoPlan | None:
    """The plan saved by an earlier run, or None (missing or unreadable: start afresh)."""
    try:
        raw = json.loads(path.read_text())
        raw["start"] = date.fromisoformat(raw["start"])
        return DemoPlan(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save_plan(path: Path, plan: DemoPlan) -> None:
    """Write atomically: a demo killed mid-write must not leave a half file behind."""
    raw = {**asdict(plan), "start": plan.start.isoformat()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(raw, indent=2) + "\n")
    os.replace(tmp, path)
