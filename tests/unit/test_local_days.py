"""LocalDays (the bulk build's org-local day of an instant) equals local_day's conversion."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from projections.model.fold import LocalDays

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = 60_000_000
# DST an hour either way, a half-hour DST (Lord Howe), quarter-hour offsets, a zone that
# skipped a whole day (Apia, 2011-12-30), and UTC.
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Asia/Shanghai",
    "UTC",
]


def _exact(us: int, tz: ZoneInfo) -> object:
    return (EPOCH + timedelta(microseconds=us)).astimezone(tz).date()


@pytest.mark.parametrize("zone", ZONES)
def test_every_minute_of_two_years_has_the_day_the_zone_gives_it(zone: str) -> None:
    tz = ZoneInfo(zone)
    days = LocalDays(tz)
    start = int((datetime(2011, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) * 1_000_000
    rng = random.Random(zone)
    us = start
    for _ in range(2 * 366 * 24 * 60 // 7):  # every 7th minute, plus a random second in it
        instant = us + rng.randrange(MINUTE)
        assert days(instant) == _exact(instant, tz), (zone, instant)
        us += 7 * MINUTE
    # where local midnight is not on a UTC hour (a half- or quarter-hour offset), the hours
    # holding one are converted instant by instant; elsewhere every hour is kept
    offsets = [datetime(2011, m, 1, tzinfo=tz).utcoffset() for m in (1, 7)]
    split = any(o is not None and o.seconds % 3600 for o in offsets)
    assert (None in days.hours.values()) == split, zone


def test_the_last_microsecond_before_a_local_midnight_stays_on_its_day() -> None:
    tz = ZoneInfo("Asia/Kolkata")  # midnight falls on the half hour in UTC
    days = LocalDays(tz)
    midnight = datetime(2026, 3, 1, tzinfo=tz).astimezone(UTC)
    us = (midnight - EPOCH) // timedelta(microseconds=1)
    for instant in (us - 1, us, us + 1, us - 3_600_000_000, us + 3_600_000_000):
        assert days(instant) == _exact(instant, tz)
    assert days(us - 1).day == 28 and days(us).day == 1
