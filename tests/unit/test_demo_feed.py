"""The demo's feed: history then live, every simulated event once and in order, and a saved plan
that lets a later run continue exactly where this one stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

from infra.settings import Settings
from producers.admission import Admission
from producers.simulator.rhythm import Clock
from salespulse.demo.feed import LiveFeed, publish_history
from salespulse.demo.plan import LIVE_DAYS, DemoPlan, load_plan, save_plan
from schemas.events import AnyEvent

UTC = ZoneInfo("UTC")
TODAY = date(2026, 11, 18)  # a Wednesday


class FakeEventLog:
    """Stands in for EventPublisher: keeps what was published, in order."""

    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self.flushes = 0

    def publish(self, event: AnyEvent) -> None:
        self.events.append(event)

    def publish_many(self, events: Iterable[AnyEvent]) -> int:
        before = len(self.events)
        self.events.extend(events)
        return len(self.events) - before

    def flush(self, timeout: float | None = None) -> None:
        self.flushes += 1


def _plan() -> DemoPlan:
    return DemoPlan.history_until_today(3, 4, 5, TODAY, "UTC", "USD")


def _ids(lines: Iterable[str]) -> list[str]:
    return [json.loads(line)["event_id"] for line in lines]


def test_a_plan_covers_the_last_days_up_to_today_then_a_live_year() -> None:
    plan = _plan()
    assert plan.start == date(2026, 11, 15) and plan.history_days == 4
    assert plan.days == 4 + LIVE_DAYS and plan.published == 0


def test_a_saved_plan_loads_back_and_a_broken_one_means_none(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, _plan().advanced(1234))
    assert load_plan(path) == _plan().advanced(1234)
    path.write_text("{not json")
    assert load_plan(path) is None
    assert load_plan(tmp_path / "missing.json") is None


def test_history_then_live_publish_each_simulated_event_once_in_order() -> None:
    # given the plan's events in publish order, and "now" at noon today
    plan = _plan()
    noon = int(datetime(2026, 11, 18, 12, tzinfo=UTC).timestamp())
    expected = _ids(e[3] for e in islice(plan.remaining(), 5000))
    log = FakeEventLog()

    # when the history up to noon goes out at once and the next 200 events live
    admission = Admission(Settings.from_env({}), dedupe_within_input=False)
    count, rest = publish_history(plan.remaining(), noon, log, lambda n, ts: None, admission)
    feed = LiveFeed(log, rate=1e9, clock=Clock(UTC), admission=admission)
    went_live = time.time()
    feed.run(islice(rest, 200), nap=lambda s: None, tick=lambda: None)

    # then the log holds exactly the simulated sequence (resubmissions included)
    assert 0 < count < len(expected) - 200
    assert [str(e.event_id) for e in log.events] == expected[: count + 200]
    assert feed.published == 200 and log.flushes == 2
    # and the history is everything due by noon, the live part is re-timed to the wall clock
    assert all(e.occurred_at.timestamp() <= noon for e in log.events[:count])
    # (a late call keeps its lateness, at most 12 h, behind the moment it is sent; a resubmitted
    # one is its original's copy, byte for byte)
    seen = {e.event_id for e in log.events[:count]}
    live_calls = [
        e for e in log.events[count:] if e.type == "CallLogged" and e.event_id not in seen
    ]
    assert live_calls and all(e.occurred_at.timestamp() > went_live - 13 * 3600 for e in live_calls)

    # and a later run resuming after what was published continues with the next event
    resumed = plan.advanced(count + feed.published).remaining()
    assert _ids(e[3] for e in islice(resumed, 10)) == expected[count + 200 : count + 210]
