"""Event-time arithmetic shared by the queries: as-of days, elapsed and remaining days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from schemas.periods import Period

_EPSILON = timedelta(microseconds=1)


def as_of_day(as_of: datetime, tz: tzinfo) -> date:
    """The org-local day containing the instant just before `as_of`.

    So `as_of` = midnight starting the 21st means "by the end of the 20th": the 20th is the
    last elapsed day. Actuals are kept per day, so they count through the end of this day.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return (as_of - _EPSILON).astimezone(tz).date()


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The instant the org-local day ends (the next day's midnight)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


def elapsed_days(period: Period, last_day: date) -> int:
    """Days of the period up to and including `last_day`, clamped to [0, period.days]."""
    return max(0, min(period.days, (last_day - period.start).days + 1))


def days_left(period: Period, last_day: date) -> int:
    """Days of the period after `last_day` (the as-of day itself counts as elapsed)."""
    return period.days - elapsed_days(period, last_day)


def through(period: Period, last_day: date) -> tuple[date, date]:
    """The elapsed part of the period as [start, end) days (empty if it has not started)."""
    end = min(period.end, last_day + timedelta(days=1))
    return period.start, max(period.start, end)


def period_end_instant(period: Period, tz: tzinfo) -> datetime:
    """The instant the period ends in the org time zone."""
    return datetime.combine(period.end, time(), tzinfo=tz)
