"""The bad-input corpus of the hostile probe (issue 12): each was accepted, then lost or a 500.

Each case is one JSON-lines line (bytes: some are not UTF-8) and the field its rejection must
name ("" for the line or body as a whole). Built relative to the clock where time matters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

GOOD_ID = "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b00"


def visit(event_id: str, **envelope: Any) -> dict[str, Any]:
    data = {
        "visit_id": "v-1", "account_id": "a-9", "visit_type": "planned",
        "duration_min": 40, "face_to_face": True, "key_account": False,
    }  # fmt: skip
    event = {
        "event_id": event_id, "type": "VisitCompleted",
        "occurred_at": "2026-11-03T09:30:00+08:00", "rep_id": "r1", "data": data,
    }  # fmt: skip
    data.update(envelope.pop("data", {}))
    return event | envelope


def call(event_id: str, duration_s: int) -> dict[str, Any]:
    return {
        "event_id": event_id, "type": "CallLogged", "occurred_at": "2026-11-03T09:30:00Z",
        "rep_id": "r1",
        "data": {"call_id": "c1", "account_id": "a1", "duration_s": duration_s,
                 "outcome": "connected"},
    }  # fmt: skip


def opportunity(event_id: str, expected_close: str) -> dict[str, Any]:
    return {
        "event_id": event_id, "type": "OpportunityCreated",
        "occurred_at": "2026-11-03T09:30:00Z", "rep_id": "r1",
        "data": {"opportunity_id": "o1", "account_id": "a1", "amount": "10", "currency": "USD",
                 "product_line": "p", "stage": "prospecting", "expected_close": expected_close},
    }  # fmt: skip


def _id(n: int) -> str:
    return f"0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b{n:02d}"


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def corpus(now: datetime | None = None) -> list[tuple[str, bytes, str]]:
    """(name, line, field to blame)."""
    now = now or datetime.now(UTC)
    future = (now + timedelta(days=400)).isoformat()
    nested: Any = "x"
    for _ in range(60):
        nested = [nested]
    return [
        ("nul in a string", _line(visit(_id(1), data={"account_id": "acct\u0000x"})),
         "data.account_id"),
        ("lone surrogate", _line(visit(_id(2), data={"account_id": "\ud800"})),
         "data.account_id"),
        ("nul in rep_id", _line(visit(_id(3), rep_id="r\u0000")), "rep_id"),
        ("integer of 2^63", _line(call(_id(4), 2**63)), "data.duration_s"),
        ("integer below -2^63", _line(call(_id(5), -(2**63) - 1)), "data.duration_s"),
        ("first instant of the calendar",
         _line(visit(_id(6), occurred_at="0001-01-01T00:00+14:00")), "occurred_at"),
        ("last instant of the calendar",
         _line(visit(_id(7), occurred_at="9999-12-31T23:59:59-14:00")), "occurred_at"),
        ("400 days in the future", _line(visit(_id(8), occurred_at=future)), "occurred_at"),
        ("a date at the end of the calendar", _line(opportunity(_id(9), "9999-12-31")),
         "data.expected_close"),
        ("nested 60 deep", _line(visit(_id(10), data={"visit_type": nested})), "data.visit_type"),
        ("nested past the parser's limit", b'{"data": ' + b"[" * 10**5 + b"]" * 10**5 + b"}", ""),
        ("not UTF-8", _line(visit(_id(12))).replace(b"a-9", b"a-\xe9"), ""),
    ]  # fmt: skip


def good_line() -> bytes:
    return _line(visit(GOOD_ID))
