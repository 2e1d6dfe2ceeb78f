"""The C reader of the log's activity-only records (scan.c), when it was compiled.

`pip install` compiles `schemas.native._scan` when a C compiler and the Python headers are
present (setup.py: an optional extension); without them the install still succeeds and the
bulk build decodes every record in Python (schemas.trusted), the same values more slowly.
`SALESPULSE_NATIVE=0` turns the C reader off where it is compiled (to compare, or to rule it
out). `Scanner` holds, per writer fingerprint of the types it reads, the program scan.c runs:
one op per Avro field in the writer's order, ending in the latest version's shape.

Two readers are made from it: `scanner` (calls, visits, leads: rows of plain values, folded a
column at a time by projections.model.columns) and `event_reader` (the other types whose
fields scan.c reads: each row made into the same LogEvent schemas.trusted.decode_trusted
returns, its decimals and dates converted as cavro converts them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, partial
from typing import Any

from schemas.codec import envelope_physical, offset_tz
from schemas.registry import SchemaVersion, default_registry
from schemas.trusted import LogEvent, _instant, data_class, uuid_of_int

try:
    from schemas.native import _scan  # type: ignore[attr-defined]
except ImportError:  # not compiled (no compiler at install time): the Python path
    _scan = None

__all__ = ["DATA_AT", "EventReader", "Scanner", "available", "event_reader", "scanner"]

# A scanned row: type index, record index, event id (int), occurred_at (µs), its offset
# (minutes), rep_id, then the data fields of the type's latest version in order; an event
# reader's rows hold recorded_at (µs) and source after rep_id.
DATA_AT = 6
ENVELOPE_OPS = {
    "event_id": "U",
    "occurred_at": "T",
    "occurred_at_offset_min": "O",
    "rep_id": "N",
    "recorded_at": "m",
    "source": "n",
    "schema_version": "i",
}
EVENT_ENVELOPE_OPS = {**ENVELOPE_OPS, "recorded_at": "M", "source": "N"}
# Per row layout: its envelope ops, and the kept ones in order (what precedes the data).
_LAYOUTS = {"activity": (ENVELOPE_OPS, "UTON"), "event": (EVENT_ENVELOPE_OPS, "UTONMN")}
Program = tuple[int, bytes, tuple[tuple[str, ...], ...]]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def available() -> bool:
    """Whether the C reader is compiled and not turned off."""
    return _scan is not None and os.environ.get("SALESPULSE_NATIVE", "1") != "0"


@dataclass(frozen=True)
class Scanner:
    """scan.c for `types`: rows of their records, indices of the rest (`scan`)."""

    types: tuple[str, ...]  # a row's type index is its place here
    fields: dict[str, tuple[str, ...]]  # per type: the data fields of its latest version
    programs: dict[bytes, Program]

    def scan(self, values: list[bytes | None]) -> tuple[list[tuple[Any, ...]], list[int]]:
        assert _scan is not None
        return _scan.scan(values, self.programs)


def scanner(types: Iterable[str]) -> Scanner | None:
    """A Scanner of those of `types` scan.c can read, or None (not compiled, turned off, or
    none of them readable)."""
    if not available():
        return None
    made = _scanner(frozenset(types), "activity")
    return made if made.types else None


class EventReader:
    """decode_trusted for the types scan.c reads: `decode(values)` gives each value's LogEvent,
    or None where the value is left to decode_trusted (another type, or bytes not read)."""

    def __init__(self, scan: Scanner) -> None:
        self.scan = scan
        self.makers = [self._maker(t) for t in scan.types]

    def _maker(self, type_: str) -> Callable[[tuple[Any, ...]], LogEvent]:
        make = data_class(type_)._make
        at = DATA_AT + 2
        convert = [(i, c) for i, c in enumerate(_converters(type_)) if c is not None]

        def event(row: tuple[Any, ...]) -> LogEvent:
            data = row[at:]
            if convert:
                fields = list(data)
                for i, c in convert:
                    if fields[i] is not None:
                        fields[i] = c(fields[i])
                data = fields  # type: ignore[assignment]
            return LogEvent(
                uuid_of_int(row[2]), type_, _instant(row[3], offset_tz(row[4])),
                row[5], row[6], row[7], make(data),
            )  # fmt: skip

        return event

    def decode(self, values: list[bytes | None]) -> list[LogEvent | None]:
        rows, _ = self.scan.scan(values)
        out: list[LogEvent | None] = [None] * len(values)
        makers = self.makers
        for row in rows:
            out[row[1]] = makers[row[0]](row)
        return out


def event_reader(types: Iterable[str]) -> EventReader | None:
    """An EventReader of those of `types` whose Avro fields are in the pydantic model's order
    and scan.c reads, or None (not compiled, turned off, or none of them readable)."""
    if not available():
        return None
    registry = default_registry()
    ordered = [
        t for t in types
        if t in registry.by_type
        and list(data_class(t)._fields) == [f["name"] for f in _data_fields(registry.latest(t))]
    ]  # fmt: skip
    made = _scanner(frozenset(ordered), "event")
    return EventReader(made) if made.types else None


def _converters(type_: str) -> list[Callable[[Any], Any] | None]:
    """Per data field of the latest version: how scan.c's value becomes cavro's (decimals
    from their unscaled int at the schema's scale, dates from days since the epoch)."""
    out: list[Callable[[Any], Any] | None] = []
    for f in _data_fields(default_registry().latest(type_)):
        avro = f["type"]
        branch = avro[1] if isinstance(avro, list) else avro
        if isinstance(branch, dict) and branch.get("logicalType") == "decimal":
            out.append(partial(_scaled, -int(branch.get("scale", 0))))
        elif isinstance(branch, dict) and branch.get("logicalType") == "date":
            out.append(_day)
        else:
            out.append(None)
    return out


def _scaled(exponent: int, unscaled: int) -> Decimal:
    return Decimal(unscaled).scaleb(exponent)


def _day(days: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + days)


@cache
def _scanner(types: frozenset[str], layout: str) -> Scanner:
    registry = default_registry()
    envelope = _LAYOUTS[layout][0]
    readable = sorted(t for t in types if t in registry.by_type and _readable(registry, t, layout))
    fields = {t: tuple(f["name"] for f in _data_fields(registry.latest(t))) for t in readable}
    programs = {
        fp: _program(readable.index(sv.type), sv, fields[sv.type], envelope)
        for fp, sv in registry.by_fingerprint.items()
        if sv.type in fields
    }
    return Scanner(tuple(readable), fields, programs)


def _readable(registry: Any, type_: str, layout: str) -> bool:
    """Every version of the type has only fields scan.c reads, each a prefix of the latest
    (decimals and dates only for the event reader, which converts them)."""
    latest = [f["name"] for f in _data_fields(registry.latest(type_))]
    envelope, expected = _LAYOUTS[layout]
    logical = layout == "event"
    for sv in registry.by_type[type_]:
        written = _data_fields(sv)
        if [f["name"] for f in written] != latest[: len(written)]:
            return False
        ops = [_field_op(f["type"]) for f in written]
        if any(op is None or (op[0] in "DXA" and not logical) for op in ops):
            return False
        if sv.schema["fields"][-1]["name"] != "data":  # the data fields end the row
            return False
        names = [f["name"] for f in _envelope_fields(sv)]
        if any(name not in envelope for name in names):
            return False
        kept = "".join(envelope[name] for name in names if envelope[name].isupper())
        if kept != expected:  # the row's envelope part, before the data
            return False
    return True


def _program(
    type_index: int, sv: SchemaVersion, latest: tuple[str, ...], envelope: dict[str, str]
) -> Program:
    ops = [envelope[f["name"]] for f in _envelope_fields(sv)]
    enums = []
    written = _data_fields(sv)
    for f in written:
        op = _field_op(f["type"])
        assert op is not None
        ops.append(op[0])
        if op[1] is not None:
            enums.append(op[1])
    ops += "0" * (len(latest) - len(written))  # added later, null by default
    return (type_index, "".join(ops).encode(), tuple(enums))


def _field_op(avro: Any) -> tuple[str, tuple[str, ...] | None] | None:
    if avro == "string":
        return "S", None
    if avro == "long":
        return "L", None
    if avro == "int":
        return "I", None
    if avro == "boolean":
        return "B", None
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return "E", tuple(sys.intern(s) for s in avro["symbols"])
    if avro == ["null", "string"]:
        return "N", None
    if avro == ["null", "long"]:
        return "M", None
    if isinstance(avro, dict) and avro.get("logicalType") == "decimal" and avro["type"] == "bytes":
        return "D", None
    if (
        isinstance(avro, list)
        and len(avro) == 2
        and avro[0] == "null"
        and isinstance(avro[1], dict)
        and avro[1].get("logicalType") == "decimal"
        and avro[1]["type"] == "bytes"
    ):
        return "X", None
    if isinstance(avro, dict) and avro.get("logicalType") == "date" and avro["type"] == "int":
        return "A", None
    return None  # anything else (doubles, arrays, records, logical types): not read here


def _envelope_fields(sv: SchemaVersion) -> list[dict[str, Any]]:
    return [f for f in envelope_physical(sv)["fields"] if f["name"] != "data"]


def _data_fields(sv: SchemaVersion) -> list[dict[str, Any]]:
    data = next(f for f in sv.schema["fields"] if f["name"] == "data")
    return list(data["type"]["fields"])
