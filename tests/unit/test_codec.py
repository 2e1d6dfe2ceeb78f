"""The Avro codec: every event type round-trips exactly, and bad bytes fail with our errors."""

from __future__ import annotations

import io
import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codec import DecodeError, EncodeError, decode, decode_record, encode
from schemas.events import EVENT_CLASSES, EVENT_TYPES, AnyEvent, parse_event
from schemas.money import ISO_4217
from schemas.registry import MARKER, default_registry, schema_fingerprint

# ---------------------------------------------------------------------------------------------
# Strategies: one valid event of any type, built from the pydantic models' own annotations so a
# new data field is covered without touching this file (field names with rules get overrides).

_OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda m: timezone(timedelta(minutes=m))
)
_MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=_OFFSETS
)
_TEXT = st.text(min_size=1, max_size=20)
_MONEY = st.integers(min_value=0, max_value=4).flatmap(
    lambda places: st.decimals(
        min_value=0, max_value=Decimal("9999999999999999"), places=places, allow_nan=False
    )
)
_SCOPES = st.one_of(
    st.just("company"),
    st.builds(
        lambda k, i: f"{k}:{i}",
        st.sampled_from(["unit", "rep"]),
        st.from_regex(r"\w{1,8}", fullmatch=True),
    ),
)
_PERIODS = st.one_of(
    st.integers(2000, 2100).map(str),
    st.builds(lambda y, q: f"{y}-Q{q}", st.integers(2000, 2100), st.integers(1, 4)),
    st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2000, 2100), st.integers(1, 12)),
    st.builds(lambda y, w: f"{y}-W{w:02d}", st.integers(2000, 2100), st.integers(1, 52)),
    st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(date.isoformat),
)
_BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "scope": _SCOPES,
    "period": _PERIODS,
    "currency": st.sampled_from(sorted(ISO_4217)),
    # Shares sum to exactly 1: cut [0, 10000] (in 0.0001) at distinct points, one share per gap.
    "shares": st.lists(st.integers(1, 9999), unique=True, max_size=4).map(
        lambda cuts: [
            {"rep_id": f"r{i}", "share": Decimal(b - a).scaleb(-4)}
            for i, (a, b) in enumerate(pairwise([0, *sorted(cuts), 10000]))
        ]
    ),
}


def _strategy_for(name: str, annotation: Any) -> st.SearchStrategy[Any]:
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return st.none() | _strategy_for(name, inner)
    if name in _BY_NAME:
        return _BY_NAME[name]
    if origin is typing.Annotated:
        return _strategy_for(name, args[0])
    if origin is typing.Literal:
        return st.sampled_from(args)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: _TEXT,
        bool: st.booleans(),
        int: st.integers(min_value=0, max_value=2**53),
        Decimal: _MONEY,
        date: st.dates(),
        UUID: st.uuids(),
    }
    return simple[annotation]


@st.composite
def events(draw: st.DrawFn, type_: str) -> AnyEvent:
    cls = EVENT_CLASSES[type_]
    data_cls = cls.model_fields["data"].annotation
    assert data_cls is not None
    data = {
        name: draw(_strategy_for(name, field.annotation))
        for name, field in data_cls.model_fields.items()
    }
    if type_ == "UnitDefined":  # parent_id is null exactly for the company
        data["parent_id"] = None if data["kind"] == "company" else draw(_TEXT)
    if type_ == "CreditAssigned":  # exactly one of order_id and opportunity_id
        named = draw(st.sampled_from(["order_id", "opportunity_id"]))
        data["order_id" if named == "opportunity_id" else "opportunity_id"] = None
        data[named] = draw(_TEXT)
    rep_required = cls.model_fields["rep_id"].is_required()
    return parse_event(
        {
            "event_id": draw(st.uuids()),
            "type": type_,
            "occurred_at": draw(_MOMENTS),
            "rep_id": draw(_TEXT if rep_required else st.none() | _TEXT),
            "recorded_at": draw(st.none() | _MOMENTS),
            "source": draw(st.none() | _TEXT),
            "data": data,
        }
    )


def _visit(**changes: Any) -> AnyEvent:
    raw: dict[str, Any] = {
        "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11",
        "type": "VisitCompleted",
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "rep_id": "r-017",
        "data": {
            "visit_id": "v-1",
            "account_id": "a-9",
            "visit_type": "planned",
            "duration_min": 40,
            "face_to_face": True,
            "key_account": False,
        },
    }
    raw.update(changes)
    return parse_event(raw)


# ---------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("type_", EVENT_TYPES)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_given_any_valid_event_when_encoded_and_decoded_then_it_is_equal(
    type_: str, data: st.DataObject
) -> None:
    event = data.draw(events(type_))

    decoded = decode(encode(event))

    assert decoded == event
    # Equality of aware datetimes compares instants only; the offset must survive too.
    assert decoded.occurred_at.utcoffset() == event.occurred_at.utcoffset()
    assert decoded.occurred_at.isoformat() == event.occurred_at.isoformat()
    assert type(decoded) is type(event)


@pytest.mark.parametrize("type_", EVENT_TYPES)
@settings(max_examples=20)
@given(data=st.data())
def test_decode_record_is_the_json_form_that_validates_to_the_same_event(
    type_: str, data: st.DataObject
) -> None:
    event = data.draw(events(type_))

    record = decode_record(encode(event))

    assert record["type"] == type_
    assert set(record) == set(type(event).model_fields)
    assert parse_event(record) == event


def test_every_record_starts_with_the_marker_and_the_latest_schema_fingerprint() -> None:
    blob = encode(_visit())

    latest = default_registry().latest("VisitCompleted")
    assert blob[:2] == b"\xc3\x01"
    assert blob[2:10] == latest.fingerprint


def test_fingerprint_matches_the_avro_specification_test_vector() -> None:
    # From Apache Avro's own test suite: the single-object header of the schema "int".
    assert MARKER + schema_fingerprint("int") == bytes.fromhex("c3018f5c393f1ad57572")


def test_occurred_at_keeps_its_offset_and_microseconds() -> None:
    event = _visit(occurred_at="2026-11-03T09:30:00.123456-03:30")

    decoded = decode(encode(event))

    assert decoded.occurred_at.isoformat() == "2026-11-03T09:30:00.123456-03:30"


def test_utc_z_round_trips_as_utc() -> None:
    decoded = decode(encode(_visit(occurred_at="2026-11-03T01:30:00Z")))
    assert decoded.occurred_at.utcoffset() == timedelta(0)


def test_an_offset_with_seconds_cannot_be_carried_and_says_so() -> None:
    odd = datetime(2026, 11, 3, 9, 30, tzinfo=timezone(timedelta(hours=1, seconds=30)))
    with pytest.raises(EncodeError, match="whole number of minutes"):
        encode(_visit(occurred_at=odd))


def test_money_is_decimal_at_wire_scale_never_float() -> None:
    event = parse_event(
        {
            "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "type": "OrderSigned",
            "occurred_at": "2026-11-03T09:30:00Z",
            "rep_id": "r-1",
            "data": {
                "order_id": "o-1",
                "account_id": "a-1",
                # trailing zeros past the wire scale are accepted and rescaled exactly
                "amount": "9999999999999999.99990",
                "currency": "EUR",
            },
        }
    )

    amount = decode(encode(event)).data.amount  # type: ignore[attr-defined]

    assert isinstance(amount, Decimal)
    assert amount == Decimal("9999999999999999.9999")


# ---------------------------------------------------------------------------------------------
# Bad bytes


def test_unknown_fingerprint_is_named_in_hex() -> None:
    blob = MARKER + bytes.fromhex("0123456789abcdef") + encode(_visit())[10:]

    with pytest.raises(DecodeError, match="unknown writer schema fingerprint 0123456789abcdef"):
        decode(blob)


@pytest.mark.parametrize("blob", [b"", b"{}", b'{"event_id": 1}', b"\x00" * 20])
def test_bytes_without_the_marker_are_refused_clearly(blob: bytes) -> None:
    with pytest.raises(DecodeError, match="expected marker C3 01"):
        decode(blob)


def test_a_truncated_header_is_refused() -> None:
    with pytest.raises(DecodeError, match="truncated"):
        decode(MARKER + b"\x01\x02")


def test_a_truncated_body_is_a_decode_error_with_the_cause_kept() -> None:
    blob = encode(_visit())

    with pytest.raises(DecodeError, match="corrupt VisitCompleted v2 record") as info:
        decode(blob[:-3])

    assert info.value.__cause__ is not None


def test_trailing_bytes_after_the_body_are_refused() -> None:
    with pytest.raises(DecodeError, match="trailing bytes"):
        decode(encode(_visit()) + b"\x00")


def test_a_record_that_breaks_model_rules_decodes_raw_but_not_as_an_event() -> None:
    # Given a foreign producer wrote a negative amount (Avro itself cannot forbid it)
    sv = default_registry().latest("OpportunityWon")
    out = io.BytesIO(sv.header)
    out.seek(0, io.SEEK_END)
    schemaless_writer(
        out,
        sv.parsed,
        {
            "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
            "occurred_at_offset_min": 0,
            "rep_id": "r-1",
            "schema_version": sv.version,
            "data": {"opportunity_id": "o-1", "amount": Decimal("-5")},
        },
    )
    blob = out.getvalue()

    # then the fast path hands it over as it is, and the validating path refuses it
    assert decode_record(blob)["data"]["amount"] == Decimal("-5")
    with pytest.raises(DecodeError, match="not a valid event") as info:
        decode(blob)
    assert info.value.__cause__ is not None


def test_event_id_comes_back_as_uuid() -> None:
    assert decode_record(encode(_visit()))["event_id"] == UUID(
        "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11"
    )
