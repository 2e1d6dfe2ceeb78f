"""What the fold, the Avro encoder and PostgreSQL cannot take, refused at the edge by field.

pydantic checks the shape of an event; these checks cover the values that pass it and still
fail downstream: a NUL or a lone surrogate in a string (PostgreSQL text and UTF-8 refuse
them), an integer beyond Avro's long, an instant the organisation's zone or the calendar
cannot hold, an event from further in the future than the configured horizon, and an event
too large for the broker. An event refused here is never accepted and then lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from schemas.codec import EncodeError, encode
from schemas.events import AnyEvent


class Problem(NamedTuple):
    """A field path (dotted) and the reason; producers.ingest makes its FieldErrors of them."""

    field: str
    reason: str


LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1  # Avro long (every integer field on the wire)
MAX_DEPTH = 32  # an event is 3 levels deep; anything near the parser's limit is an attack
# The broker takes 1 MiB per record by default; an event is a few hundred bytes.
MAX_EVENT_BYTES = 256 * 1024
# Day arithmetic around an event (its period, the day after, a week) must stay in the
# calendar Python and PostgreSQL share.
FIRST_DAY, LAST_DAY = date(1, 1, 1) + timedelta(days=400), date(9999, 12, 31) - timedelta(days=400)


def raw_errors(obj: Any) -> tuple[Problem, ...]:
    """Problems in the parsed JSON itself: nesting, strings, integers (with their paths)."""
    return tuple(_walk(obj, "", 0))


def _walk(value: Any, path: str, depth: int) -> Iterator[Problem]:
    if depth > MAX_DEPTH:
        field = ".".join(path.split(".")[:2])  # the event's field, not the 33 levels below
        yield Problem(field, f"nested deeper than {MAX_DEPTH} levels")
        return
    if isinstance(value, str):
        if "\x00" in value:
            yield Problem(path, "contains a NUL character (U+0000), which text cannot hold")
        elif any("\ud800" <= c <= "\udfff" for c in value):
            yield Problem(path, "contains a lone surrogate (not valid Unicode text)")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not LONG_MIN <= value <= LONG_MAX:
            yield Problem(path, f"{value} is outside the 64-bit integer range")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                yield Problem(path, "a field name contains a NUL character")
                continue
            yield from _walk(item, name, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}" if path else str(i), depth + 1)


def event_errors(
    event: AnyEvent, zone: tzinfo, now: datetime, horizon: timedelta
) -> tuple[Problem, ...]:
    """Problems of a parsed event: its instants, its future, its encoded size."""
    errors: list[Problem] = []
    for name in ("occurred_at", "recorded_at"):
        at = getattr(event, name)
        if at is not None and (problem := _instant_problem(at, zone)):
            errors.append(Problem(name, problem))
    for name, value in event.data.__dict__.items():
        is_day = isinstance(value, date) and not isinstance(value, datetime)
        if is_day and not FIRST_DAY <= value <= LAST_DAY:
            errors.append(Problem(f"data.{name}", f"{value} is outside the calendar"))
    if not errors and event.occurred_at > now + horizon:
        errors.append(
            Problem(
                "occurred_at",
                f"{event.occurred_at.isoformat()} is more than {_days(horizon)} in the future "
                "(SALESPULSE_FUTURE_HORIZON_HOURS)",
            )
        )
    if errors:
        return tuple(errors)
    try:
        size = len(encode(event))
    except EncodeError as exc:  # whatever the checks above missed: refused, not lost
        return (Problem("", str(exc)),)
    if size > MAX_EVENT_BYTES:
        return (Problem("", f"the event is {size} bytes; at most {MAX_EVENT_BYTES}"),)
    return ()


def _instant_problem(at: datetime, zone: tzinfo) -> str | None:
    try:
        days = (at.astimezone(UTC).date(), at.astimezone(zone).date())
    except (OverflowError, ValueError):
        return f"{at.isoformat()} cannot be represented in UTC or the organisation's zone"
    if not all(FIRST_DAY <= d <= LAST_DAY for d in days):
        return f"{at.isoformat()} is outside the calendar ({FIRST_DAY.year}-{LAST_DAY.year})"
    return None


def _days(horizon: timedelta) -> str:
    hours = horizon.total_seconds() / 3600
    return f"{hours:g} hours"
