"""Trusted decode of the log: fastavro's output as light read-only events, no pydantic.

Every record on the event log passed the pydantic models at the edge (produce, HTTP ingest,
the simulator) before it was written, and the Avro schema fixes its shape; re-validating it on
every read cost about half of the decode. `decode_trusted` reads the same bytes as
`schemas.codec.decode` and returns an event with the same attributes (`event_id`, `type`,
`occurred_at`, `rep_id`, `recorded_at`, `source`, `data.<field>`) holding the same values, so
the fold cannot tell them apart (tests/unit/test_trusted_decode.py checks it on every type).
Bytes that are not a readable record still raise `DecodeError`.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from schemas.codec import decode_record
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


@cache
def _data_classes() -> dict[str, Any]:
    """Per event type, a namedtuple of its data fields, in the pydantic model's field order
    (so that schemas.fingerprint hashes both forms alike); the latest Avro schema has them."""
    registry = default_registry()
    classes = {}
    for type_ in registry.by_type:
        data = next(f for f in registry.latest(type_).schema["fields"] if f["name"] == "data")
        avro = {f["name"] for f in data["type"]["fields"]}
        names = list(EVENT_CLASSES[type_].model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
        assert set(names) == avro, f"{type_}: Avro and pydantic data fields differ"
        classes[type_] = namedtuple(f"{type_}Data", names)
    return classes


def decode_trusted(data: bytes) -> LogEvent:
    """The event in `data` (Avro single-object bytes) without pydantic validation."""
    r = decode_record(data)
    type_ = r["type"]
    return LogEvent(
        r["event_id"],
        type_,
        r["occurred_at"],
        r["rep_id"],
        r["recorded_at"],
        r["source"],
        _data_classes()[type_](**r["data"]),
    )
