"""The JSON form at the edge: what is accepted, and how each bad event is reported, by field."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from infra.settings import Settings
from producers.ingest import FieldError, Rejection, validate_lines, validate_objects
from schemas.events import parse_event

SETTINGS = Settings(base_currency="USD", fx_rates={"EUR": Decimal("1.08")})

# The example from DESIGN.md Part B.
VISIT: dict[str, Any] = {
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
ORDER: dict[str, Any] = {
    "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "type": "OrderSigned",
    "occurred_at": "2026-11-03T10:00:00Z",
    "rep_id": "r-1",
    "data": {"order_id": "o-1", "account_id": "a-1", "amount": "12500.00", "currency": "EUR"},
}
TARGET: dict[str, Any] = {
    "event_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    "type": "TargetSet",
    "occurred_at": "2026-10-01T00:00:00Z",
    "data": {"scope": "rep:r-1", "metric": "revenue", "period": "2026-Q4", "value": "300000"},
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with envelope fields, or data fields via data={...}, changed."""
    out = json.loads(json.dumps(base))
    data_changes = changes.pop("data", {})
    out.update(changes)
    out["data"].update(data_changes)
    return out


def _without(base: dict[str, Any], key: str) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    del out[key]
    return out


def _errors(obj: Any) -> list[str]:
    """Every error message the edge reports for one object given as a JSON line."""
    result = validate_lines([json.dumps(obj)], SETTINGS)
    assert not result.accepted
    return [str(e) for r in result.rejected for e in r.errors]


# ---------------------------------------------------------------------------------------------
# Accepted


def test_the_design_example_is_accepted() -> None:
    result = validate_lines([json.dumps(VISIT)], SETTINGS)
    assert result.rejected == []
    assert [e.event_id for e in result.accepted] == [parse_event(VISIT).event_id]


def test_rep_id_is_optional_only_for_unit_defined_and_target_set() -> None:
    unit = {
        "event_id": "9b2f5c3e-1d4a-4c8e-b6f7-0a1b2c3d4e5f",
        "type": "UnitDefined",
        "occurred_at": "2026-01-01T00:00:00Z",
        "data": {"unit_id": "acme", "name": "Acme", "kind": "company", "parent_id": None},
    }
    assert len(validate_objects([unit, TARGET], SETTINGS).accepted) == 2


def test_amounts_given_as_json_numbers_stay_exact_decimals() -> None:
    line = json.dumps(_with(ORDER, data={"amount": 0})).replace('"amount": 0', '"amount": 0.1')

    (event,) = validate_lines([line], SETTINGS).accepted

    assert event.data.amount == Decimal("0.1")  # type: ignore[attr-defined]
    assert isinstance(event.data.amount, Decimal)  # type: ignore[attr-defined]


def test_an_amount_in_the_base_currency_needs_no_rate() -> None:
    result = validate_objects([_with(ORDER, data={"currency": "USD"})], SETTINGS)
    assert result.rejected == []


def test_visit_completed_takes_the_optional_opportunity_id_of_schema_v2() -> None:
    event = parse_event(_with(VISIT, data={"opportunity_id": "opp-3"}))
    assert event.data.opportunity_id == "opp-3"  # type: ignore[attr-defined]
    assert parse_event(VISIT).data.opportunity_id is None  # type: ignore[attr-defined]


def test_blank_lines_are_skipped_but_counted() -> None:
    result = validate_lines(["", "   ", "{"], SETTINGS)
    assert [r.line for r in result.rejected] == [3]


# ---------------------------------------------------------------------------------------------
# Rejected, with the field and the reason


def test_bad_uuid() -> None:
    assert _errors(_with(VISIT, event_id="0f8e1c52-XXXX")) == [
        "event_id: '0f8e1c52-XXXX' is not a valid UUID"
    ]


@pytest.mark.parametrize("amount", ["12,5", "abc", "1.2.3", "", "1e"])
def test_money_that_is_not_a_decimal_number(amount: str) -> None:
    assert _errors(_with(ORDER, data={"amount": amount})) == [
        f"data.amount: {amount!r} is not a decimal number"
    ]


@pytest.mark.parametrize("amount", ["-1", "-0.01", -5])
def test_negative_amounts(amount: Any) -> None:
    assert _errors(_with(ORDER, data={"amount": amount})) == ["data.amount: must not be negative"]


def test_negative_target_value() -> None:
    assert _errors(_with(TARGET, data={"value": "-300"})) == ["data.value: must not be negative"]


def test_more_decimal_places_than_the_wire_carries() -> None:
    assert _errors(_with(ORDER, data={"amount": "1.00001"})) == [
        "data.amount: has more than 4 decimal places"
    ]


def test_unknown_type() -> None:
    assert _errors(_with(VISIT, type="VisitPlanned")) == ["type: unknown event type 'VisitPlanned'"]


def test_missing_type() -> None:
    assert _errors(_without(VISIT, "type")) == ["type: required field is missing"]


def test_missing_rep_id() -> None:
    assert _errors(_without(VISIT, "rep_id")) == ["rep_id: required field is missing"]


@pytest.mark.parametrize(
    ("period", "reason"),
    [
        ("2026-13", "invalid period '2026-13': month must be in 1..12"),
        (
            "2026-Q5",
            "invalid period '2026-Q5': expected YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
        ),
        (
            "Nov 2026",
            "invalid period 'Nov 2026': expected YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
        ),
    ],
)
def test_bad_period(period: str, reason: str) -> None:
    assert _errors(_with(TARGET, data={"period": period})) == [f"data.period: {reason}"]


def test_bad_scope() -> None:
    assert _errors(_with(TARGET, data={"scope": "team:7"})) == [
        "data.scope: invalid scope 'team:7': expected 'company', 'unit:<id>' or 'rep:<id>'"
    ]


def test_bad_currency_code() -> None:
    assert _errors(_with(ORDER, data={"currency": "EURO"})) == [
        "data.currency: 'EURO' is not an ISO 4217 currency code"
    ]


def test_currency_without_a_configured_rate_names_the_field() -> None:
    assert _errors(_with(ORDER, data={"currency": "GBP"})) == [
        "data.currency: no exchange rate from GBP to the base currency USD "
        "(configure SALESPULSE_FX_RATES)"
    ]


def test_occurred_at_without_an_offset() -> None:
    errors = _errors(_with(VISIT, occurred_at="2026-11-03T09:30:00"))
    assert len(errors) == 1 and errors[0].startswith("occurred_at: ")


def test_unknown_field_in_data() -> None:
    assert _errors(_with(VISIT, data={"mood": "great"})) == ["data.mood: unknown field"]


def test_every_problem_of_one_event_is_reported_at_once() -> None:
    bad = _without(_with(ORDER, event_id="nope", data={"amount": "abc"}), "rep_id")
    assert sorted(_errors(bad)) == [
        "data.amount: 'abc' is not a decimal number",
        "event_id: 'nope' is not a valid UUID",
        "rep_id: required field is missing",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ('{"amount": NaN}', "invalid JSON: NaN is not a number JSON allows"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('"text"', "expected a JSON object, got a string"),
    ],
)
def test_lines_that_are_not_event_objects(line: str, reason: str) -> None:
    (rejection,) = validate_lines([line], SETTINGS).rejected
    assert rejection.messages() == [f"line 1: {reason}"]


# ---------------------------------------------------------------------------------------------
# Batches: positions, event ids, duplicates, nothing valid lost


def test_a_batch_keeps_the_good_events_and_reports_the_bad_one_with_its_line() -> None:
    lines = [
        json.dumps(VISIT),
        json.dumps(_with(ORDER, data={"amount": "12,5"})),
        json.dumps(TARGET),
    ]

    result = validate_lines(lines, SETTINGS)

    assert [str(e.event_id) for e in result.accepted] == [VISIT["event_id"], TARGET["event_id"]]
    assert result.rejected == [
        Rejection(
            index=1,
            line=2,
            event_id=ORDER["event_id"],
            errors=(FieldError("data.amount", "'12,5' is not a decimal number"),),
        )
    ]
    assert result.rejected[0].messages() == ["line 2: data.amount: '12,5' is not a decimal number"]


def test_a_duplicate_event_id_within_one_input_is_rejected_once_accepted() -> None:
    # The same UUID written in upper case is the same event.
    again = _with(VISIT, event_id=VISIT["event_id"].upper())
    lines = [json.dumps(VISIT), json.dumps(ORDER), json.dumps(again)]

    result = validate_lines(lines, SETTINGS)

    assert len(result.accepted) == 2
    (dup,) = result.rejected
    assert dup.messages() == ["line 3: event_id: duplicate of line 1"]


def test_a_rejected_event_does_not_reserve_its_event_id() -> None:
    bad_first = _with(VISIT, data={"duration_min": -1})
    result = validate_lines([json.dumps(bad_first), json.dumps(VISIT)], SETTINGS)
    assert len(result.accepted) == 1 and [r.line for r in result.rejected] == [1]


def test_objects_are_reported_by_index_in_the_http_shape() -> None:
    result = validate_objects([VISIT, _with(VISIT, event_id="x"), VISIT], SETTINGS)

    assert [r.to_json() for r in result.rejected] == [
        {
            "index": 1,
            "event_id": "x",
            "errors": [{"field": "event_id", "reason": "'x' is not a valid UUID"}],
        },
        {
            "index": 2,
            "event_id": VISIT["event_id"],
            "errors": [{"field": "event_id", "reason": "duplicate of event 0"}],
        },
    ]


def test_event_id_is_reported_only_when_readable() -> None:
    result = validate_objects([_with(VISIT, event_id=12), "x"], SETTINGS)
    assert [r.event_id for r in result.rejected] == [None, None]
