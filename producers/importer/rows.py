"""One CSV row to event JSON: fields from the map, cleaned values, an id from the natural key.

The event id is a UUID 5 of the kind and the row's natural key (an order's order_id, a
target's scope + metric + period), so importing the same export again yields the same ids,
which the projections count once. An opportunity exported as won or lost becomes its
OpportunityCreated and its OpportunityWon / OpportunityLost, each with its own stable id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from producers.importer.mapping import ImportMap

# Fixed forever: changing it would give every imported row a new event id.
NAMESPACE = uuid.UUID("5b3a5f4e-2f0e-4c36-9d55-7f1c0a6e8b21")


@dataclass(frozen=True)
class KindSpec:
    """How one `--as` kind becomes events: its type, natural key and data fields."""

    type: str
    key: tuple[str, ...]
    fields: tuple[str, ...]
    has_rep: bool = True


KINDS: Mapping[str, KindSpec] = {
    "orders": KindSpec(
        "OrderSigned", ("order_id",),
        ("order_id", "opportunity_id", "account_id", "amount", "currency"),
    ),
    "payments": KindSpec(
        "PaymentReceived", ("payment_id",), ("payment_id", "order_id", "amount", "currency")
    ),
    "opportunities": KindSpec(
        "OpportunityCreated", ("opportunity_id",),
        ("opportunity_id", "account_id", "amount", "currency", "product_line", "stage",
         "expected_close"),
    ),
    "visits": KindSpec(
        "VisitCompleted", ("visit_id",),
        ("visit_id", "account_id", "visit_type", "duration_min", "face_to_face", "key_account"),
    ),
    "calls": KindSpec(
        "CallLogged", ("call_id",), ("call_id", "account_id", "duration_s", "outcome")
    ),
    "leads": KindSpec("LeadCreated", ("lead_id",), ("lead_id", "source")),
    "targets": KindSpec(
        "TargetSet", ("scope", "metric", "period"), ("scope", "metric", "period", "value"),
        has_rep=False,
    ),
}  # fmt: skip

MONEY_FIELDS = frozenset({"amount", "value"})
DATE_FIELDS = frozenset({"expected_close"})
CLOSED_STAGES = {"won": "OpportunityWon", "lost": "OpportunityLost"}
# The stage an opportunity exported as already won or lost is created in.
OPEN_STAGE_BEFORE_CLOSE = "negotiation"
_DATE_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y.%m.%d",
)  # fmt: skip
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_SYMBOLS = str.maketrans("", "", "$¥￥€£ \u00a0")


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row: the spreadsheet row number and the column (if one)."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.reason}"


class _Bad(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def event_id(kind: str, key: tuple[str, ...], suffix: str = "") -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}:{'|'.join(key)}{suffix}")


def money(text: str) -> str:
    """'12,500.00', '$12,500', '¥ 8000' -> '12500.00' / '12500' / '8000'; others unchanged."""
    cleaned = text.translate(_SYMBOLS)
    return cleaned.replace(",", "") if _GROUPED.match(cleaned) else cleaned


def parse_time(text: str, tz: tzinfo, fmt: str | None) -> datetime:
    """A timestamp with or without offset (then in `tz`); a date alone is noon that day."""
    formats = (fmt,) if fmt else ()
    for f in formats:
        try:
            return _aware(datetime.strptime(text, f), tz)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        if ":" not in text:  # a date alone: noon that day, safely inside it in any zone
            parsed = datetime.combine(parsed.date(), time(12))
        return _aware(parsed, tz)
    for f in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, f)
        except ValueError:
            continue
        if "%H" not in f and "%I" not in f:
            parsed = datetime.combine(parsed.date(), time(12))
        return _aware(parsed, tz)
    raise ValueError(f"{text!r} is not a date or time (give date_format in the map)")


def _aware(value: datetime, tz: tzinfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


class RowConverter:
    """Turns rows of one export into event JSON objects (not validated yet)."""

    def __init__(self, kind: str, imap: ImportMap, tz: tzinfo) -> None:
        self.kind, self.spec, self.imap, self.tz = kind, KINDS[kind], imap, tz

    def fields(self) -> tuple[str, ...]:
        extra: tuple[str, ...] = (
            ("occurred_at", "rep_id") if self.spec.has_rep else ("occurred_at",)
        )
        if self.kind == "opportunities":
            extra += ("created_at", "reason")
        return extra + self.spec.fields

    def missing_columns(self, headers: tuple[str, ...]) -> list[str]:
        """Map entries naming a column the file does not have."""
        return [
            f"column {c!r} (for {f}) is not in the file; its columns: {', '.join(headers)}"
            for f, c in self.imap.columns.items()
            if c not in headers
        ]

    def value(self, cells: Mapping[str, str], field: str) -> Any:
        column = self.imap.column_of(field)
        raw = cells.get(column, "") if column else ""
        if raw == "":
            return self.imap.defaults.get(field)
        lookup = self.imap.values.get(field, {})
        value: Any = lookup.get(raw, raw)
        try:
            if field in MONEY_FIELDS and isinstance(value, str):
                return money(value)
            if field in DATE_FIELDS and isinstance(value, str):
                return parse_time(value, self.tz, self.imap.date_format).date().isoformat()
            if field in ("occurred_at", "created_at") and isinstance(value, str):
                return parse_time(value, self.tz, self.imap.date_format).isoformat()
        except ValueError as exc:
            raise _Bad(field, str(exc)) from None
        return value

    def convert(self, row: int, cells: Mapping[str, str]) -> list[dict[str, Any]] | RowProblem:
        try:
            values = {f: self.value(cells, f) for f in self.fields()}
        except _Bad as bad:
            return RowProblem(row, self.column_name(bad.field), str(bad))
        key = tuple(str(values[k]) if values[k] is not None else "" for k in self.spec.key)
        for name, part in zip(self.spec.key, key, strict=True):
            if not part:
                return RowProblem(row, self.column_name(name), "required (part of the row's key)")
        if self.kind == "opportunities":
            return self._opportunity(values, key)
        return [self._event(self.spec.type, event_id(self.kind, key), values, self.spec.fields)]

    def _event(
        self, type_: str, ident: uuid.UUID, values: Mapping[str, Any], fields: tuple[str, ...],
        at: Any = None,
    ) -> dict[str, Any]:  # fmt: skip
        event: dict[str, Any] = {
            "event_id": str(ident),
            "type": type_,
            "occurred_at": at or values["occurred_at"],
            "data": {f: values[f] for f in fields if values.get(f) is not None},
        }
        if self.spec.has_rep:
            event["rep_id"] = values["rep_id"]
        return event

    def _opportunity(self, values: dict[str, Any], key: tuple[str, ...]) -> list[dict[str, Any]]:
        stage = values.get("stage")
        closed = CLOSED_STAGES.get(str(stage).lower()) if stage is not None else None
        created = dict(values)
        if closed:
            created["stage"] = OPEN_STAGE_BEFORE_CLOSE
        if created.get("expected_close") is None and isinstance(values["occurred_at"], str):
            created["expected_close"] = values["occurred_at"][:10]
        at = values.get("created_at") or values["occurred_at"]
        out = [self._event(self.spec.type, event_id(self.kind, key), created, self.spec.fields, at)]
        if closed == "OpportunityWon":
            out.append(self._event(closed, event_id(self.kind, key, ":won"), values,
                                   ("opportunity_id", "amount")))  # fmt: skip
        elif closed == "OpportunityLost":
            lost = {**values, "reason": values.get("reason") or "lost"}
            out.append(self._event(closed, event_id(self.kind, key, ":lost"), lost,
                                   ("opportunity_id", "reason")))  # fmt: skip
        return out

    def column_name(self, field: str) -> str | None:
        """The column behind an event field path (`data.amount` -> "Amount")."""
        name = field.removeprefix("data.").split(".")[0]
        return self.imap.column_of(name) or (name or None)
