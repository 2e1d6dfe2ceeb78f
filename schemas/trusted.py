"""Trusted decode of the log: Avro bytes to light read-only events, no pydantic, with cavro.

Every record on the event log passed the pydantic models at the edge (produce, HTTP ingest,
the simulator) before it was written, and the Avro schema fixes its shape; re-validating it on
every read cost about half of the decode. `decode_trusted` reads the same bytes as
`schemas.codec.decode` and returns an event with the same attributes (`event_id`, `type`,
`occurred_at`, `rep_id`, `recorded_at`, `source`, `data.<field>`) holding the same values, so
the fold cannot tell them apart (tests/unit/test_trusted_decode.py checks it on every type).

The body is read by cavro, not fastavro: 2.1 against 6.0 µs a record on the bench history
(bench/README.md), the largest single cost of a replay. fastavro still writes every record and
reads them on the validating path (`schemas.codec`), which also refuses trailing bytes after
a body; this path reads the value and ignores them (they cannot change it).

Bytes that are not a readable record still raise `DecodeError`, and so does a string holding
NUL: no edge lets one in (a record written past the edges) and PostgreSQL cannot store it, so
it is dead-lettered at decode, before it could fail a whole bulk flush.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID, SafeUUID

import cavro

from schemas.codec import DecodeError, envelope_physical, header_error, offset_tz
from schemas.events import EVENT_CLASSES
from schemas.registry import HEADER_SIZE, MARKER, SchemaVersion, default_registry

__all__ = ["Activity", "LogEvent", "data_class", "decode_activity", "decode_trusted", "uuid_of_int"]

DataOf = Callable[[dict[str, Any]], Any]
_OPTIONS = cavro.DEFAULT_OPTIONS.replace(record_decodes_to_dict=True)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_new, _set, _UNKNOWN = object.__new__, object.__setattr__, SafeUUID.unknown


class LogEvent(NamedTuple):
    """An event read from the log: the envelope of the pydantic event, `data` a namedtuple."""

    event_id: UUID
    type: str
    occurred_at: datetime
    rep_id: str | None
    recorded_us: int | None  # as written (microseconds since the epoch): the fold never reads it
    source: str | None
    data: Any

    @property
    def recorded_at(self) -> datetime | None:
        us = self.recorded_us
        return None if us is None else _EPOCH + us * _MICROSECOND


@dataclass(frozen=True)
class _Reader:
    type: str
    version: int
    schema: Any  # cavro.Schema: reads the writer's bytes into the latest shape, as dicts
    data_of: DataOf
    strings: tuple[str, ...]  # the data fields that may hold a string (the NUL check)


@cache
def _readers() -> dict[bytes, _Reader]:
    """Per writer fingerprint: how to read its bytes as the latest version of its type."""
    registry = default_registry()
    data_of = {t: _data_reader(t, registry.latest(t)) for t in registry.by_type}
    strings = {t: _string_fields(registry.latest(t)) for t in registry.by_type}
    readers = {}
    for fp, sv in registry.by_fingerprint.items():
        latest = registry.latest(sv.type)
        schema = cavro.Schema(envelope_physical(latest), options=_OPTIONS)
        if latest is not sv:
            writer = cavro.Schema(envelope_physical(sv), options=_OPTIONS)
            schema = schema.reader_for_writer(writer)
        readers[fp] = _Reader(sv.type, sv.version, schema, data_of[sv.type], strings[sv.type])
    return readers


def _data_reader(type_: str, latest: SchemaVersion) -> DataOf:
    """How a data dict becomes a namedtuple of its fields, in the pydantic model's field order
    (so that schemas.fingerprint hashes both forms alike); an array of records (CreditAssigned's
    shares) becomes a tuple of namedtuples named like the pydantic item model, whose repr is
    the same."""
    data = next(f for f in latest.schema["fields"] if f["name"] == "data")
    avro = {f["name"]: f["type"] for f in data["type"]["fields"]}
    cls = data_class(type_)
    names = list(cls._fields)
    assert set(names) == set(avro), f"{type_}: Avro and pydantic data fields differ"
    nested = {
        name: namedtuple(t["items"]["name"], [f["name"] for f in t["items"]["fields"]])
        for name, t in avro.items()
        if isinstance(t, dict) and t.get("type") == "array" and isinstance(t["items"], dict)
    }
    if nested:

        def read(fields: dict[str, Any]) -> Any:
            for name, item in nested.items():
                fields[name] = tuple(item(**v) for v in fields[name])
            return cls(**fields)

        return read
    if names == list(avro):  # the usual case: the values are already in the model's order
        make = cls._make
        return lambda fields: make(fields.values())
    return lambda fields: cls(**fields)


@cache
def data_class(type_: str) -> Any:
    """The namedtuple a type's `data` is read into: the pydantic model's fields, in order."""
    names = list(EVENT_CLASSES[type_].model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
    return namedtuple(f"{type_}Data", names)


def _string_fields(latest: SchemaVersion) -> tuple[str, ...]:
    data = next(f for f in latest.schema["fields"] if f["name"] == "data")
    return tuple(
        f["name"]
        for f in data["type"]["fields"]
        if f["type"] == "string" or (isinstance(f["type"], list) and "string" in f["type"])
    )


def _uuid_int(text: str) -> int:
    """The 128 bits of the canonical form the codec writes (what UUID(text).int is)."""
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise ValueError(f"badly formed event_id {text!r}")
    return int(digits, 16)


def _uuid(text: str) -> UUID:
    """UUID(text) for the canonical form the codec writes, at half the cost."""
    return uuid_of_int(_uuid_int(text))


def uuid_of_int(n: int) -> UUID:
    """UUID(int=n) without its range check (n is 128 bits read from a canonical form)."""
    u = _new(UUID)
    _set(u, "int", n)
    _set(u, "is_safe", _UNKNOWN)
    return u


# Below this many microseconds since the epoch (the year 2065) a float of seconds is exact to
# well under half a microsecond (3e9 s x 2^-53 < 0.34 us), so fromtimestamp, which rounds to the
# nearest microsecond, returns the written instant: 0.25 us instead of 0.64 for the exact sum.
_FLOAT_EXACT_US = 3_000_000_000_000_000
_from_seconds = datetime.fromtimestamp


def _instant(us: int, offset: timezone) -> datetime:
    """The instant `us` microseconds after the epoch, in the written offset."""
    if 0 <= us < _FLOAT_EXACT_US:
        return _from_seconds(us / 1e6, offset)
    return (_EPOCH + us * _MICROSECOND).astimezone(offset)


def _has_nul(r: dict[str, Any], fields: dict[str, Any], strings: tuple[str, ...]) -> bool:
    texts = [r["rep_id"] or "", r["source"] or ""]
    texts += [v for name in strings if (v := fields[name])]
    return "\x00" in "".join(texts)


def decode_trusted(data: bytes) -> LogEvent:
    """The event in `data` (Avro single-object bytes) without pydantic validation."""
    reader = _reader_of(data)
    try:
        r, fields = _body(reader, data)
        offset = offset_tz(r["occurred_at_offset_min"])
        return LogEvent(
            _uuid(r["event_id"]),
            reader.type,
            _instant(r["occurred_at"], offset),
            r["rep_id"],
            r["recorded_at"],
            r["source"],
            reader.data_of(fields),
        )
    except Exception as exc:  # cavro raises anything from EOFError to UnicodeDecodeError
        raise _corrupt(reader, exc) from exc


# (event_id as its 128-bit integer, type, occurred_at, occurred_at in microseconds since the
# epoch, rep_id, data): what the bulk build folds of an activity-only event.
Activity = tuple[int, str, datetime, int, str | None, Any]


def decode_activity(data: bytes, types: frozenset[str]) -> Activity | None:
    """An event of one of `types` as a plain tuple, or None for any other type (decode it with
    decode_trusted). The same bytes refused by decode_trusted are refused here; what this
    leaves out is the UUID object and the NamedTuple (the bulk build reads the id as an
    integer and the envelope once): a third of the decode of a call or a visit."""
    reader = _reader_of(data)
    if reader.type not in types:
        return None
    try:
        r, fields = _body(reader, data)
        us = r["occurred_at"]
        at = _instant(us, offset_tz(r["occurred_at_offset_min"]))
        return (_uuid_int(r["event_id"]), reader.type, at, us, r["rep_id"], reader.data_of(fields))
    except Exception as exc:  # as in decode_trusted
        raise _corrupt(reader, exc) from exc


def _reader_of(data: bytes) -> _Reader:
    reader = _readers().get(data[2:HEADER_SIZE])
    if reader is None or data[:2] != MARKER:
        raise header_error(data)
    return reader


def _body(reader: _Reader, data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and its data fields, as cavro reads them; a NUL in a string refused."""
    r = reader.schema.binary_decode(data[HEADER_SIZE:])
    fields = r["data"]
    if _has_nul(r, fields, reader.strings):
        raise ValueError("a string field holds a NUL character")
    return r, fields


def _corrupt(reader: _Reader, exc: Exception) -> DecodeError:
    return DecodeError(f"corrupt {reader.type} v{reader.version} record: {exc}")
