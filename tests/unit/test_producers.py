"""The producer edge without a broker: settings, partition keys, stamping, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from infra.publisher import KEY_FIELDS, partition_key, stamp
from infra.settings import CurrencyError, Settings, SettingsError
from schemas.codec import DecodeError
from schemas.events import EVENT_TYPES, parse_event
from streams.deadletter import MAX_REASON_CHARS, dead_letter

ENVELOPE: dict[str, Any] = {
    "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11",
    "occurred_at": "2026-11-03T09:30:00+08:00",
    "rep_id": "r-017",
}

# ---------------------------------------------------------------------------------------------
# Settings


def test_settings_defaults_with_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.kafka_bootstrap, s.events_topic, s.dlq_topic, s.broadcasts_topic) == (
        "127.0.0.1:9092",
        "sales.events",
        "sales.events.dlq",
        "sales.broadcasts",
    )
    assert (s.partitions, s.tz, s.base_currency, dict(s.fx_rates)) == (6, "UTC", "USD", {})
    assert s.database_url == "postgresql://salespulse@127.0.0.1:5433/salespulse"
    assert s.worker_engine == "batch"


def test_settings_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP": "kafka:29092",
            "SALESPULSE_EVENTS_TOPIC": "e",
            "SALESPULSE_DLQ_TOPIC": "d",
            "SALESPULSE_BROADCASTS_TOPIC": "b",
            "SALESPULSE_PARTITIONS": "12",
            "DATABASE_URL": "postgresql://x@db/y",
            "SALESPULSE_TZ": "Asia/Shanghai",
            "SALESPULSE_BASE_CURRENCY": "cny",
            "SALESPULSE_FX_RATES": "USD=7.1, EUR=7.8",
            "SALESPULSE_WORKER_ENGINE": " Faust",
        }
    )
    assert s.worker_engine == "faust"
    assert (s.events_topic, s.dlq_topic, s.broadcasts_topic, s.partitions) == ("e", "d", "b", 12)
    assert s.zone.key == "Asia/Shanghai"
    assert s.base_currency == "CNY"
    assert dict(s.fx_rates) == {"USD": Decimal("7.1"), "EUR": Decimal("7.8")}
    assert s.rate("EUR") == Decimal("7.8") and s.rate("CNY") == 1 and s.rate(None) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SALESPULSE_PARTITIONS": "six"}, "SALESPULSE_PARTITIONS: 'six' is not a whole number"),
        ({"SALESPULSE_PARTITIONS": "0"}, "SALESPULSE_PARTITIONS: must be at least 1"),
        ({"SALESPULSE_TZ": "Mars/Olympus"}, "SALESPULSE_TZ: 'Mars/Olympus' is not a known"),
        ({"SALESPULSE_BASE_CURRENCY": "XXY"}, "SALESPULSE_BASE_CURRENCY: 'XXY' is not an ISO"),
        ({"SALESPULSE_FX_RATES": "EUR"}, "expected CODE=RATE"),
        # a decimal comma splits the list: the stray part is named
        ({"SALESPULSE_FX_RATES": "EUR=1,08"}, "'08': expected CODE=RATE"),
        ({"SALESPULSE_FX_RATES": "EUR=abc"}, "'abc' is not a decimal number"),
        ({"SALESPULSE_FX_RATES": "EUR=0"}, "a rate must be positive"),
        ({"SALESPULSE_FX_RATES": "EUR=1,EUR=2"}, "EUR is given twice"),
        ({"SALESPULSE_FX_RATES": "USD=2"}, "the base currency's rate can only be 1"),
        ({"SALESPULSE_WORKER_ENGINE": "spark"}, "'spark' is not one of batch, faust"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_a_currency_without_a_rate_has_no_conversion() -> None:
    s = Settings(fx_rates={"EUR": Decimal("1.08")})
    assert s.accepts_currency("EUR") and s.accepts_currency("USD")
    assert not s.accepts_currency("GBP")
    with pytest.raises(CurrencyError, match="no exchange rate from GBP"):
        s.rate("GBP")


# ---------------------------------------------------------------------------------------------
# Partition keys


@pytest.mark.parametrize(
    ("type_", "data", "key"),
    [
        ("OpportunityCreated", {"opportunity_id": "opp-1", "account_id": "a", "amount": "1",
                                "currency": "USD", "product_line": "p", "stage": "proposal",
                                "expected_close": "2026-12-01"}, b"opp-1"),
        ("OpportunityStageChanged", {"opportunity_id": "opp-1", "to_stage": "negotiation"},
         b"opp-1"),
        ("OpportunityWon", {"opportunity_id": "opp-1", "amount": "1"}, b"opp-1"),
        ("OpportunityLost", {"opportunity_id": "opp-1", "reason": "price"}, b"opp-1"),
        ("LeadCreated", {"lead_id": "lead-4", "source": "web"}, b"lead-4"),
        ("LeadQualified", {"lead_id": "lead-4", "level": "MQL"}, b"lead-4"),
        ("UnitDefined", {"unit_id": "t-1", "name": "T", "kind": "team", "parent_id": "d"}, b"t-1"),
        ("TargetSet", {"scope": "unit:t-1", "metric": "revenue", "period": "2026", "value": "1"},
         b"unit:t-1"),
        ("TargetsLocked", {"scope": "company", "period": "2026"}, b"company"),
        ("OrderSigned", {"order_id": "o", "opportunity_id": "opp-1", "account_id": "a",
                         "amount": "1", "currency": "USD"}, b"r-017"),
        ("CallLogged", {"call_id": "c", "account_id": "a", "duration_s": 1,
                        "outcome": "connected"}, b"r-017"),
        ("RepLeft", {}, b"r-017"),
    ],
)  # fmt: skip
def test_events_are_keyed_by_their_aggregate(type_: str, data: dict[str, Any], key: bytes) -> None:
    event = parse_event({**ENVELOPE, "type": type_, "data": data})
    assert partition_key(event) == key


def test_key_fields_name_real_types() -> None:
    assert set(KEY_FIELDS) <= set(EVENT_TYPES)


def test_stamp_fills_recorded_at_and_source_only_when_missing() -> None:
    now = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    bare = parse_event({**ENVELOPE, "type": "RepLeft"})
    stamped_before = parse_event(
        {**ENVELOPE, "type": "RepLeft", "recorded_at": "2026-11-03T01:31:00Z", "source": "crm"}
    )

    stamped = stamp(bare, recorded_at=now, source="tests")

    assert (stamped.recorded_at, stamped.source) == (now, "tests")
    assert stamped.event_id == bare.event_id and stamped.occurred_at == bare.occurred_at
    assert stamp(stamped_before, recorded_at=now, source="tests") is stamped_before


# ---------------------------------------------------------------------------------------------
# Dead letters


def test_dead_letter_keeps_key_and_value_and_says_why_and_where() -> None:
    try:
        try:
            raise KeyError("fp")
        except KeyError as cause:
            raise DecodeError("unknown writer schema fingerprint 0123456789abcdef") from cause
    except DecodeError as exc:
        error = exc

    letter = dead_letter(b"r-1", b"\xc3\x01junk", "sales.events", 4, 1234, error)

    assert (letter.key, letter.value) == (b"r-1", b"\xc3\x01junk")
    headers = dict(letter.headers)
    assert headers["dlq.topic"] == b"sales.events"
    assert headers["dlq.partition"] == b"4"
    assert headers["dlq.offset"] == b"1234"
    assert headers["dlq.error_type"] == b"DecodeError"
    assert headers["dlq.reason"] == (
        b"unknown writer schema fingerprint 0123456789abcdef (caused by KeyError: 'fp')"
    )


def test_dead_letter_reason_is_one_bounded_line() -> None:
    letter = dead_letter(None, None, "t", 0, 0, ValueError("a\nb" + "x" * 5000))
    reason = dict(letter.headers)["dlq.reason"].decode()
    assert "\n" not in reason and len(reason) == MAX_REASON_CHARS


def test_dead_letter_carries_original_headers_but_not_old_dlq_ones() -> None:
    letter = dead_letter(
        None, b"v", "t", 0, 7, ValueError("bad"), [("trace", b"abc"), ("dlq.offset", b"1")]
    )
    assert [k for k, _ in letter.headers] == [
        "trace",
        "dlq.reason",
        "dlq.topic",
        "dlq.partition",
        "dlq.offset",
        "dlq.error_type",
    ]
    assert dict(letter.headers)["dlq.offset"] == b"7"
