"""Money on the wire: non-negative `Decimal` amounts (never float) and ISO 4217 currency codes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

# Scale of every amount on the wire (Avro decimal(20, 4)); 4 places cover every ISO 4217
# minor unit (at most 3) with room for unit prices.
AMOUNT_SCALE = 4
AMOUNT_PRECISION = 20

_WIRE_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# Active ISO 4217 codes (2024 list).
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)

# Minor units that differ from 2 (for rounding allocations to what a currency can pay).
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_unit(currency: str) -> int:
    """Number of decimal places the currency pays in (ISO 4217 minor unit)."""
    return _MINOR_UNITS.get(currency, 2)


def to_decimal(value: Any) -> Decimal:
    """A decimal string or a number as `Decimal`; floats go through their shortest repr."""
    if isinstance(value, bool):
        raise ValueError("must be a decimal string or a number, not a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # repr() is the shortest string that round-trips, so 0.1 becomes Decimal('0.1').
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise ValueError(f"{value!r} is not a decimal number")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the regex already filters
            raise ValueError(f"{value!r} is not a decimal number") from exc
    else:
        raise ValueError(f"must be a decimal string or a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("must be a finite number")
    return result


def _check_amount(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -AMOUNT_SCALE
        and value != value.quantize(Decimal(1).scaleb(-AMOUNT_SCALE))
    ):
        raise ValueError(f"has more than {AMOUNT_SCALE} decimal places")
    if abs(value) >= Decimal(10) ** (AMOUNT_PRECISION - AMOUNT_SCALE):
        raise ValueError("is too large")
    # Canonical form = the wire scale: an amount parsed from JSON and the same amount decoded
    # from Avro are then identical (not merely equal), so every driver folds the same values.
    return value.quantize(_WIRE_QUANTUM)


def _check_currency(value: Any) -> str:
    if not isinstance(value, str) or value not in ISO_4217:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


Money = Annotated[Decimal, BeforeValidator(to_decimal), AfterValidator(_check_amount)]
Currency = Annotated[str, BeforeValidator(_check_currency)]
