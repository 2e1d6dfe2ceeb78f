"""Validation at the edge: raw JSON events in, accepted events and field-level rejections out.

One implementation for `salespulse produce` (JSON lines) and `POST /api/events` (a JSON list),
so both report the same errors: each rejection names its position, its event_id when one is
readable, and every problem as a field path (``data.amount``) with a reason. Nothing valid is
lost because of a bad neighbour, and an event_id seen twice in one input is published once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from infra.settings import Settings
from producers.limits import MAX_DEPTH, event_errors, raw_errors
from schemas.events import EVENT_CLASSES, AnyEvent, parse_event

# The data field that names an amount's currency (every type with money has it).
_CURRENCY_FIELD = "currency"


@dataclass(frozen=True)
class FieldError:
    """One problem: the field path (dotted, empty for the whole event) and the reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass(frozen=True)
class Rejection:
    """An input that was not accepted, with where it was and everything wrong with it."""

    index: int  # 0-based position in the input (for lines: counting every line)
    line: int | None  # 1-based line number for JSON-lines input, None for objects
    event_id: str | None
    errors: tuple[FieldError, ...]
    # The guard's refusal when a rule of the projections refused the event (a target lock):
    # edges that say more about it (HTTP 409 names the lock) read it from here.
    refusal: Any = None

    @property
    def field(self) -> str:
        """The first field to blame (a Rejection is a refusal too: see IngestResult.refusals)."""
        return self.errors[0].field if self.errors else ""

    @property
    def reason(self) -> str:
        return "; ".join(str(e) for e in self.errors)

    def messages(self) -> list[str]:
        """One human line per error, e.g. ``line 3: data.amount: '12,5' is not a decimal``."""
        where = f"line {self.line}" if self.line is not None else f"event {self.index}"
        return [f"{where}: {error}" for error in self.errors]

    def to_json(self) -> dict[str, Any]:
        """The HTTP form: ``{index, event_id, errors: [{field, reason}]}``."""
        return {
            "index": self.index,
            "event_id": self.event_id,
            "errors": [{"field": e.field, "reason": e.reason} for e in self.errors],
        }


@dataclass(frozen=True)
class IngestWarning:
    """An accepted event that looks wrong against the projections (the log records it anyway):
    a correction of an order never seen, a duplicate deal (撞单)."""

    index: int
    line: int | None
    event_id: str
    warning: FieldError

    def message(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"event {self.index}"
        return f"{where}: warning: {self.warning}"

    def to_json(self) -> dict[str, Any]:
        """The HTTP form: ``{index, event_id, field, reason}``."""
        return {
            "index": self.index,
            "event_id": self.event_id,
            "field": self.warning.field,
            "reason": self.warning.reason,
        }


@dataclass
class IngestResult:
    """Every accepted event (in input order), every rejection and every warning (the same)."""

    accepted: list[AnyEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)

    def refusals(self) -> list[Any]:
        """Each rejection as the guard's refusal when a rule refused it, else as itself."""
        return [r.refusal if r.refusal is not None else r for r in self.rejected]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Validator:
    """Checks one input item at a time, remembering event_ids to catch duplicates within it."""

    def __init__(
        self,
        settings: Settings,
        *,
        dedupe: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._horizon = timedelta(hours=settings.future_horizon_hours)
        # Off for inputs that resubmit on purpose (the simulator's duplicates stand for
        # clients retrying: the log keeps them and the projections count each id once).
        self._dedupe = dedupe
        # event_id -> where it was first accepted; the UUID's int, as a replay may hold millions.
        self._seen: dict[int, str] = {}

    def check_line(self, text: str | bytes, index: int) -> AnyEvent | Rejection:
        """Validate one JSON line; `index` is 0-based, the reported line number is index + 1."""
        try:
            if isinstance(text, bytes):
                # UTF-8 only (json.loads would guess UTF-16 or -32 from the first bytes).
                text = text.decode("utf-8")
            obj = json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
        except RecursionError:
            reason = f"invalid JSON: nested deeper than {MAX_DEPTH} levels"
            return Rejection(index, index + 1, None, (FieldError("", reason),))
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
            return Rejection(index, index + 1, None, (FieldError("", reason),))
        except UnicodeDecodeError as exc:
            reason = (
                f"not UTF-8 text: byte {exc.start + 1} is {exc.object[exc.start : exc.start + 1]!r}"
            )
            return Rejection(index, index + 1, None, (FieldError("", reason),))
        except ValueError as exc:  # a NaN/Infinity constant
            return Rejection(index, index + 1, None, (FieldError("", str(exc)),))
        return self._check(obj, index, index + 1)

    def check_object(self, obj: Any, index: int) -> AnyEvent | Rejection:
        """Validate one already-parsed JSON object (numbers should be Decimal or int)."""
        return self._check(obj, index, None)

    def _check(self, obj: Any, index: int, line: int | None) -> AnyEvent | Rejection:
        raw_id = obj.get("event_id") if isinstance(obj, dict) else None
        event_id = raw_id if isinstance(raw_id, str) else None
        problems = raw_errors(obj)
        if problems:
            return Rejection(index, line, event_id, tuple(FieldError(*p) for p in problems))
        try:
            event = parse_event(obj)
        except ValidationError as exc:
            return Rejection(index, line, event_id, _field_errors(exc))
        errors = self._currency_errors(event) or tuple(
            FieldError(*p)
            for p in event_errors(event, self._settings.zone, self._clock(), self._horizon)
        )
        if errors:
            return Rejection(index, line, str(event.event_id), errors)
        if not self._dedupe:
            return event
        first = self._seen.get(event.event_id.int)
        if first is not None:
            reason = f"duplicate of {first}"
            return Rejection(index, line, str(event.event_id), (FieldError("event_id", reason),))
        self._seen[event.event_id.int] = f"line {line}" if line is not None else f"event {index}"
        return event

    def _currency_errors(self, event: AnyEvent) -> tuple[FieldError, ...]:
        currency = getattr(event.data, _CURRENCY_FIELD, None)
        if currency is None or self._settings.accepts_currency(currency):
            return ()
        path = f"data.{_CURRENCY_FIELD}"
        return (FieldError(path, self._settings.currency_problem(currency)),)


def validate_lines(lines: Iterable[str | bytes], settings: Settings) -> IngestResult:
    """Validate JSON lines (blank lines are skipped but counted for line numbers)."""
    result = IngestResult()
    for outcome in iter_lines(lines, settings):
        _collect(result, outcome)
    return result


def iter_lines(lines: Iterable[str | bytes], settings: Settings) -> Iterator[AnyEvent | Rejection]:
    """Like validate_lines, one outcome at a time, for inputs too large to hold."""
    validator = Validator(settings)
    for index, text in enumerate(lines):
        if text.strip():
            yield validator.check_line(text, index)


def validate_objects(objs: Iterable[Any], settings: Settings) -> IngestResult:
    """Validate parsed JSON objects (e.g. an HTTP body's list); positions are 0-based."""
    validator = Validator(settings)
    result = IngestResult()
    for index, obj in enumerate(objs):
        _collect(result, validator.check_object(obj, index))
    return result


def _collect(result: IngestResult, outcome: AnyEvent | Rejection) -> None:
    if isinstance(outcome, Rejection):
        result.rejected.append(outcome)
    else:
        result.accepted.append(outcome)


def _no_constants(name: str) -> Any:
    raise ValueError(f"invalid JSON: {name} is not a number JSON allows")


def _field_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    return tuple(_field_error(error) for error in exc.errors())


def _field_error(error: Any) -> FieldError:
    loc = list(error["loc"])
    # A discriminated union puts the chosen tag first: ('VisitCompleted', 'data', 'amount').
    if loc and loc[0] in EVENT_CLASSES:
        loc = loc[1:]
    path = ".".join(str(part) for part in loc)
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "union_tag_not_found":
        return FieldError("type", "required field is missing")
    if kind == "union_tag_invalid":
        return FieldError("type", f"unknown event type {ctx.get('tag')!r}")
    if kind == "model_attributes_type" and not path:
        return FieldError("", f"expected a JSON object, got {_json_kind(value)}")
    if kind == "missing":
        return FieldError(path, "required field is missing")
    if kind == "extra_forbidden":
        return FieldError(path, "unknown field")
    if kind in ("uuid_parsing", "uuid_type"):
        return FieldError(path, f"{value!r} is not a valid UUID")
    if kind == "value_error" and "error" in ctx:
        return FieldError(path, str(ctx["error"]))  # our validators' own words
    return FieldError(path, str(error["msg"]))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
