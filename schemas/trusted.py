"""Trusted decode of the log: fastavro's output as light read-only events, no pydantic.

Every record on the event log passed the pydantic models at the edge (produce, HTTP ingest,
the simulator) before it was written, and the Avro schema fixes its shape; re-validating it on
every read cost about half of the decode. `decode_trusted` reads the same bytes as
`schemas.codec.decode` and returns an event with the same attributes (`event_id`, `type`,
`occurred_at`, `rep_id`, `recorded_at`, `source`, `data.<field>`) holding the same values, so
the fold cannot tell them apart (tests/unit/test_trusted_decode.py checks it on every type).
Bytes that are not a readable record still raise `DecodeError`, and so does a string holding
NUL: no edge lets one in (a record written past the edges) and PostgreSQL cannot store it, so
it is dead-lettered at decode, before it could fail a whole bulk flush.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from schemas.codec import DecodeError, decode_record
from schemas.events import EVENT_CLASSES
from schemas.registry import default_registry

__all__ = ["LogEvent", "decode_trusted"]


class LogEvent(NamedTuple):
    """An event read from the log: the envelope of the pydantic event, `data` a namedtuple."""

    event_id: UUID
    type: str
    occurred_at: datetime
    rep_id: str | None
    recorded_at: datetime | None
    source: str | None
    data: Any


DataOf = Callable[[dict[str, Any]], Any]


@cache
def _data_readers() -> dict[str, DataOf]:
    """Per event type, how its data dict becomes a namedtuple of its fields, in the pydantic
    model's field order (so that schemas.fingerprint hashes both forms alike); an array of
    records (CreditAssigned's shares) becomes a tuple of namedtuples named like the pydantic
    item model, whose repr is the same. The latest Avro schema has the fields."""
    registry = default_registry()
    readers: dict[str, DataOf] = {}
    for type_ in registry.by_type:
        data = next(f for f in registry.latest(type_).schema["fields"] if f["name"] == "data")
        avro = {f["name"]: f["type"] for f in data["type"]["fields"]}
        names = list(EVENT_CLASSES[type_].model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
        assert set(names) == set(avro), f"{type_}: Avro and pydantic data fields differ"
        readers[type_] = _reader(namedtuple(f"{type_}Data", names), avro)
    return readers


def _reader(cls: Any, avro: dict[str, Any]) -> DataOf:
    nested = {
        name: namedtuple(t["items"]["name"], [f["name"] for f in t["items"]["fields"]])
        for name, t in avro.items()
        if isinstance(t, dict) and t.get("type") == "array" and isinstance(t["items"], dict)
    }
    if not nested:
        return lambda fields: cls(**fields)

    def read(fields: dict[str, Any]) -> Any:
        for name, item in nested.items():
            fields[name] = tuple(item(**v) for v in fields[name])
        return cls(**fields)

    return read


def _strings(values: Any) -> Iterator[str]:
    for v in values:
        if isinstance(v, str):
            yield v
        elif isinstance(v, (tuple, list)):
            yield from _strings(v)


def decode_trusted(data: bytes) -> LogEvent:
    """The event in `data` (Avro single-object bytes) without pydantic validation."""
    r = decode_record(data)
    type_ = r["type"]
    event = LogEvent(
        r["event_id"],
        type_,
        r["occurred_at"],
        r["rep_id"],
        r["recorded_at"],
        r["source"],
        _data_readers()[type_](r["data"]),
    )
    if any("\x00" in v for v in _strings((event.rep_id, event.source, *event.data))):
        raise DecodeError(f"{type_} {event.event_id}: a string field holds a NUL character")
    return event
