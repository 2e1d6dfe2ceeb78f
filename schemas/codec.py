"""Events to and from Avro single-object encoded bytes (marker C3 01, fingerprint, body).

`encode` writes with the latest schema of the event's type; `decode_record` looks the writer
schema up by fingerprint and resolves it against the latest schema of the same type, so a
record written under any published version reads as today's shape. `decode_record` returns the
JSON-form dict (plain Python values, no pydantic: the bulk replay path); `decode` validates it
into the pydantic event.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from pydantic import ValidationError

from schemas.events import EVENT_CLASSES, AnyEvent
from schemas.money import AMOUNT_SCALE
from schemas.registry import HEADER_SIZE, MARKER, Registry, SchemaVersion, default_registry

__all__ = [
    "DecodeError",
    "EncodeError",
    "decode",
    "decode_record",
    "encode",
    "envelope_physical",
    "envelope_values",
    "header_error",
    "offset_tz",
]

_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ENVELOPE_LOGICAL = frozenset({"event_id", "occurred_at", "recorded_at"})


class DecodeError(ValueError):
    """Bytes that are not a readable event: bad marker, unknown schema, corrupt body."""


class EncodeError(ValueError):
    """An event the wire format cannot carry (e.g. a UTC offset with seconds)."""


@dataclass(frozen=True)
class _Writer:
    """How to write one type: its latest schema and which data fields are decimals."""

    schema: SchemaVersion
    parsed: dict[str, Any]  # the envelope-physical form, see _envelope_physical
    decimal_fields: tuple[str, ...]
    record_lists: tuple[str, ...]  # arrays of records (CreditAssigned.shares): models to dicts


@dataclass(frozen=True)
class _Reader:
    """How to read one writer schema: resolve against `reader` (None when it is the latest)."""

    schema: SchemaVersion
    writer: dict[str, Any]
    reader: dict[str, Any] | None


class _Codec:
    """Everything derived from the registry once, so encode/decode never parse a schema."""

    def __init__(self, registry: Registry) -> None:
        physical = {sv.fingerprint: _envelope_physical(sv) for sv in registry.versions()}
        self.writers: dict[str, _Writer] = {}
        self.readers: dict[bytes, _Reader] = {}
        for type_ in registry.by_type:
            latest = registry.latest(type_)
            self.writers[type_] = _Writer(
                latest, physical[latest.fingerprint], _decimal_fields(latest), _record_lists(latest)
            )
        for fp, sv in registry.by_fingerprint.items():
            latest = registry.latest(sv.type)
            reader = None if latest is sv else physical[latest.fingerprint]
            self.readers[fp] = _Reader(sv, physical[fp], reader)


def _envelope_physical(sv: SchemaVersion) -> dict[str, Any]:
    """The schema with the envelope's uuid/timestamp logical types dropped, parsed."""
    return cast(dict[str, Any], parse_schema(envelope_physical(sv), named_schemas={}))


def envelope_physical(sv: SchemaVersion) -> dict[str, Any]:
    """The schema as written with the envelope's uuid/timestamp logical types dropped.

    fastavro's logical-type hooks for these three fields cost about half of each call; the
    codec converts them itself instead (`envelope_values`). The bytes are the same (logical
    types only annotate the physical string/long) and so is the fingerprint, which ignores
    logicalType.
    """
    fields = []
    for field in sv.schema["fields"]:
        if field["name"] in _ENVELOPE_LOGICAL:
            field = {**field, "type": _drop_logical(field["type"])}
        fields.append(field)
    return {**sv.schema, "fields": fields}


def _drop_logical(type_: Any) -> Any:
    if isinstance(type_, list):
        return [_drop_logical(branch) for branch in type_]
    if isinstance(type_, dict) and "logicalType" in type_:
        return type_["type"]
    return type_


_codec: _Codec | None = None


def _get_codec() -> _Codec:
    # Built on first use rather than at import, so importing the module reads no files.
    global _codec
    if _codec is None:
        _codec = _Codec(default_registry())
    return _codec


def _decimal_fields(sv: SchemaVersion) -> tuple[str, ...]:
    data = next(f for f in sv.schema["fields"] if f["name"] == "data")
    names = []
    for field in data["type"]["fields"]:
        branches = field["type"] if isinstance(field["type"], list) else [field["type"]]
        if any(isinstance(b, dict) and b.get("logicalType") == "decimal" for b in branches):
            names.append(field["name"])
    return tuple(names)


def _record_lists(sv: SchemaVersion) -> tuple[str, ...]:
    data = next(f for f in sv.schema["fields"] if f["name"] == "data")
    return tuple(
        f["name"]
        for f in data["type"]["fields"]
        if isinstance(f["type"], dict)
        and f["type"]["type"] == "array"
        and isinstance(f["type"]["items"], dict)
    )


_OFFSETS: dict[int, timezone] = {0: UTC}


def offset_tz(minutes: int) -> timezone:
    tz = _OFFSETS.get(minutes)
    if tz is None:
        tz = _OFFSETS[minutes] = timezone(timedelta(minutes=minutes))
    return tz


def _offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    if offset is None:
        raise EncodeError("occurred_at must carry a UTC offset")
    minutes, rest = divmod(offset, timedelta(minutes=1))
    if rest:
        raise EncodeError(f"occurred_at offset {offset} is not a whole number of minutes")
    return int(minutes)


def encode(event: AnyEvent) -> bytes:
    """The event as Avro single-object bytes, written with its type's latest schema."""
    writer = _get_codec().writers[event.type]
    data = dict(event.data.__dict__)  # pydantic keeps field values in __dict__
    for name in writer.decimal_fields:
        amount = data[name]
        # Money allows trailing zeros past the wire scale ("1.50000"); the decimal writer
        # refuses any exponent below -scale, so rescale (exactly: the value has <= 4 places).
        if amount is not None and amount.as_tuple().exponent < -AMOUNT_SCALE:
            data[name] = amount.quantize(_QUANTUM)
    for name in writer.record_lists:
        data[name] = [dict(item.__dict__) for item in data[name]]
    recorded_at = event.recorded_at
    record = {
        "event_id": str(event.event_id),
        "occurred_at": (event.occurred_at - _EPOCH) // _MICROSECOND,
        "occurred_at_offset_min": _offset_minutes(event.occurred_at),
        "rep_id": event.rep_id,
        "recorded_at": None if recorded_at is None else (recorded_at - _EPOCH) // _MICROSECOND,
        "source": event.source,
        "schema_version": writer.schema.version,
        "data": data,
    }
    out = io.BytesIO()
    out.write(writer.schema.header)
    try:
        schemaless_writer(out, writer.parsed, record)
    except (ValueError, TypeError, OverflowError) as exc:
        raise EncodeError(f"cannot encode {event.type} {event.event_id}: {exc}") from exc
    return out.getvalue()


def decode_record(data: bytes) -> dict[str, Any]:
    """The JSON-form dict of an event (type, envelope, data) without pydantic validation."""
    fp = bytes(data[2:HEADER_SIZE])
    reader = _get_codec().readers.get(fp)
    if reader is None or data[:2] != MARKER:
        raise header_error(data)
    body = io.BytesIO(data)
    body.seek(HEADER_SIZE)
    try:
        record = cast(dict[str, Any], schemaless_reader(body, reader.writer, reader.reader))
    except Exception as exc:  # fastavro raises anything from EOFError to UnicodeDecodeError
        raise _corrupt(reader, repr(exc)) from exc
    if body.tell() != len(data):
        raise _corrupt(reader, f"{len(data) - body.tell()} trailing bytes after the body")
    try:
        envelope_values(record)
    except (ValueError, OverflowError) as exc:
        raise _corrupt(reader, str(exc)) from exc
    record["type"] = reader.schema.type
    return record


def header_error(data: bytes) -> DecodeError:
    """Why `data` does not start with the header of a known schema."""
    if data[:2] != MARKER:
        got = bytes(data[:2]).hex(" ").upper() or "nothing"
        return DecodeError(f"not an Avro single-object record: expected marker C3 01, got {got}")
    if len(data) < HEADER_SIZE:
        return DecodeError(f"truncated record: {len(data)} bytes, shorter than the header")
    return DecodeError(
        f"unknown writer schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()} (a producer "
        "newer than this reader, or a schema missing from schemas/avro)"
    )


def envelope_values(record: dict[str, Any]) -> None:
    """The physical envelope fields of a record read as `envelope_physical`, as values, in
    place: event_id a UUID, occurred_at aware in its written offset, recorded_at in UTC."""
    record["event_id"] = UUID(record["event_id"])
    offset = offset_tz(record.pop("occurred_at_offset_min"))
    record["occurred_at"] = (_EPOCH + record["occurred_at"] * _MICROSECOND).astimezone(offset)
    if record["recorded_at"] is not None:
        record["recorded_at"] = _EPOCH + record["recorded_at"] * _MICROSECOND
    del record["schema_version"]


def decode(data: bytes) -> AnyEvent:
    """The pydantic event from Avro single-object bytes, in the latest shape of its type."""
    record = decode_record(data)
    try:
        return EVENT_CLASSES[record["type"]].model_validate(record)
    except ValidationError as exc:
        label = f"{record['type']} {record['event_id']}"
        raise DecodeError(f"{label} is not a valid event: {exc}") from exc


def _corrupt(reader: _Reader, reason: str) -> DecodeError:
    return DecodeError(f"corrupt {reader.schema.type} v{reader.schema.version} record: {reason}")
