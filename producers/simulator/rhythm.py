"""Working-hour timing: org-local clock arithmetic, RFC 3339 formatting and the weekday rhythm.

Times are whole epoch seconds (sortable ints); days are proleptic ordinals (`date.toordinal`).
"""

from __future__ import annotations

from bisect import bisect
from datetime import date, datetime, timedelta
from itertools import accumulate
from random import Random
from zoneinfo import ZoneInfo

SATURDAY = 5
FRIDAY = 4

# Relative activity per local hour: a warm-up at 9, a lunch dip, a tail-off before 18:00.
_WEEK_HOURS = {9: 0.8, 10: 1.2, 11: 1.2, 12: 0.7, 13: 0.6, 14: 1.1, 15: 1.1, 16: 1.0, 17: 0.7}
# Fridays end at 15:00, so fewer events happen then without a separate volume knob.
_FRIDAY_HOURS = {h: w for h, w in _WEEK_HOURS.items() if h < 15}


def _cumulative(weights: dict[int, float]) -> tuple[list[int], list[float]]:
    return list(weights), list(accumulate(weights.values()))


_WEEK = _cumulative(_WEEK_HOURS)
_FRIDAY = _cumulative(_FRIDAY_HOURS)
FRIDAY_FACTOR = sum(_FRIDAY_HOURS.values()) / sum(_WEEK_HOURS.values())


def weekday(ordinal: int) -> int:
    """Monday is 0; ordinal 1 (0001-01-01) was a Monday."""
    return (ordinal - 1) % 7


def is_working_day(ordinal: int) -> bool:
    return weekday(ordinal) < SATURDAY


def next_working_day(ordinal: int) -> int:
    """The day itself when it is a weekday, else the following Monday."""
    wd = weekday(ordinal)
    return ordinal + (7 - wd if wd >= SATURDAY else 0)


class Clock:
    """Org-local wall time <-> epoch seconds, cached per day and per minute for speed."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self._hours: dict[int, list[int]] = {}
        self._minutes: dict[int, tuple[str, str]] = {}

    def hour_starts(self, ordinal: int) -> list[int]:
        """Epoch seconds of local hh:00 for hh in 0..24 (24 = next midnight); DST-correct."""
        starts = self._hours.get(ordinal)
        if starts is None:
            d = date.fromordinal(ordinal)
            tz = self._tz
            starts = [
                int(datetime(d.year, d.month, d.day, hh, tzinfo=tz).timestamp()) for hh in range(24)
            ]
            n = d + timedelta(days=1)
            starts.append(int(datetime(n.year, n.month, n.day, tzinfo=tz).timestamp()))
            if len(self._hours) > 4096:  # long live runs: keep the cache bounded
                self._hours.clear()
            self._hours[ordinal] = starts
        return starts

    def at(self, ordinal: int, hour: int, minute: int = 0) -> int:
        return self.hour_starts(ordinal)[hour] + 60 * minute

    def format(self, ts: int) -> str:
        """RFC 3339 in the org's zone with its offset, e.g. 2026-01-05T09:30:12+01:00."""
        minute = ts // 60
        parts = self._minutes.get(minute)
        if parts is None:
            iso = datetime.fromtimestamp(minute * 60, self._tz).isoformat()
            parts = (iso[:17], iso[19:])  # 'YYYY-MM-DDTHH:MM:' and the offset
            if len(self._minutes) > 200_000:
                self._minutes.clear()
            self._minutes[minute] = parts
        return f"{parts[0]}{ts % 60:02d}{parts[1]}"

    def work_time(self, rng: Random, ordinal: int) -> int:
        """A random moment in the working hours of a weekday, weighted by the hour's rhythm."""
        hours, cum = _FRIDAY if weekday(ordinal) == FRIDAY else _WEEK
        hour = hours[bisect(cum, rng.random() * cum[-1])]
        return self.hour_starts(ordinal)[hour] + int(rng.random() * 3600)

    def work_times(self, rng: Random, ordinal: int, n: int) -> list[int]:
        """`n` moments in one weekday's working hours (unsorted; the outbox orders them)."""
        hours, cum = _FRIDAY if weekday(ordinal) == FRIDAY else _WEEK
        starts = self.hour_starts(ordinal)
        rand = rng.random
        total = cum[-1]
        return [starts[hours[bisect(cum, rand() * total)]] + int(rand() * 3600) for _ in range(n)]

    def follow_up(self, rng: Random, ts: int, ordinal: int, lo: int, hi: int) -> tuple[int, int]:
        """A working moment `lo`..`hi` calendar days after (ordinal, ts), strictly after ts."""
        day = next_working_day(ordinal + rng.randint(lo, hi))
        t = self.work_time(rng, day)
        if t <= ts:  # same day and drawn earlier: a little later than the previous step
            t = ts + 300 + int(rng.random() * 3300)
        return day, t
