"""Periods (`2026`, `2026-Q4`, `2026-11`, `2026-W45`, `2026-11-03`) and scopes (`unit:x` ...)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["year", "quarter", "month", "week", "day"]

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class PeriodError(ValueError):
    """A period string that is not one of the five accepted forms."""


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period in the organisation's time zone: days [start, end)."""

    start: date
    end: date  # exclusive
    kind: PeriodKind
    text: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        return self.text


def parse_period(text: str) -> Period:
    """Parse one of `2026`, `2026-Q4`, `2026-11`, `2026-W45`, `2026-11-03`."""
    if not isinstance(text, str):
        raise PeriodError(f"period must be a string, got {type(text).__name__}")
    try:
        if m := _YEAR.match(text):
            y = int(m[1])
            return Period(date(y, 1, 1), date(y + 1, 1, 1), "year", text)
        if m := _QUARTER.match(text):
            y, q = int(m[1]), int(m[2])
            start = date(y, 3 * (q - 1) + 1, 1)
            end = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
            return Period(start, end, "quarter", text)
        if m := _MONTH.match(text):
            y, mo = int(m[1]), int(m[2])
            start = date(y, mo, 1)
            return Period(
                start, start + timedelta(days=calendar.monthrange(y, mo)[1]), "month", text
            )
        if m := _WEEK.match(text):
            y, w = int(m[1]), int(m[2])
            start = date.fromisocalendar(y, w, 1)
            return Period(start, start + timedelta(days=7), "week", text)
        if m := _DAY.match(text):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return Period(d, d + timedelta(days=1), "day", text)
    except (ValueError, OverflowError) as exc:
        # OverflowError: a period ending after 9999-12-31 (`9999-12`), which `date` cannot hold.
        raise PeriodError(f"invalid period {text!r}: {exc}") from exc
    raise PeriodError(
        f"invalid period {text!r}: expected YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD"
    )


def period_containing(day: date, kind: str) -> Period:
    """The period of the given kind (year, quarter, month, week, day) containing the day."""
    if kind == "year":
        return parse_period(f"{day.year:04d}")
    if kind == "quarter":
        return parse_period(f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}")
    if kind == "month":
        return parse_period(f"{day.year:04d}-{day.month:02d}")
    if kind == "week":
        iso = day.isocalendar()
        return parse_period(f"{iso.year:04d}-W{iso.week:02d}")
    return parse_period(day.isoformat())


def month_of(day: date) -> Period:
    return parse_period(f"{day.year:04d}-{day.month:02d}")


ScopeKind = Literal["company", "unit", "rep"]


class ScopeError(ValueError):
    """A scope string that is not `company`, `unit:<id>` or `rep:<id>`."""


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: str | None = None

    def __str__(self) -> str:
        return "company" if self.kind == "company" else f"{self.kind}:{self.id}"


def parse_scope(text: str) -> Scope:
    if text == "company":
        return Scope("company")
    kind, sep, ident = text.partition(":") if isinstance(text, str) else ("", "", "")
    if sep and kind in ("unit", "rep") and ident.strip() == ident and ident:
        return Scope(kind, ident)  # type: ignore[arg-type]
    raise ScopeError(f"invalid scope {text!r}: expected 'company', 'unit:<id>' or 'rep:<id>'")


def as_period(period: Period | str) -> Period:
    """A Period, parsing text (the query functions take either)."""
    return parse_period(period) if isinstance(period, str) else period


def as_scope(scope: Scope | str) -> Scope:
    """A Scope, parsing text (the query functions take either)."""
    return parse_scope(scope) if isinstance(scope, str) else scope
