"""Records written in an older schema version of their type, as an older producer wrote them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastavro import parse_schema, schemaless_writer

from schemas.codec import decode_record, encode, envelope_physical
from schemas.events import AnyEvent

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def write_as(sv: Any, event: AnyEvent) -> bytes:
    """The event written in schema version `sv` of its type (the fields that version has)."""
    record = decode_record(encode(event))
    fields = {f["name"] for f in data_fields(sv.schema)}
    record["data"] = {k: v for k, v in record["data"].items() if k in fields}
    return write(sv, record)


def data_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return next(f for f in schema["fields"] if f["name"] == "data")["type"]["fields"]  # type: ignore[no-any-return]


def write(sv: Any, record: dict[str, Any]) -> bytes:
    # the envelope in its physical form, as schemas.codec.encode writes it
    at = record["occurred_at"]
    body = {
        **record,
        "event_id": str(record["event_id"]),
        "occurred_at": (at - EPOCH) // timedelta(microseconds=1),
        "occurred_at_offset_min": int(at.utcoffset() // timedelta(minutes=1)),
        "recorded_at": None,
        "schema_version": sv.version,
    }
    del body["type"]
    out = io.BytesIO()
    out.write(sv.header)
    schemaless_writer(out, parse_schema(envelope_physical(sv), named_schemas={}), body)
    return out.getvalue()
