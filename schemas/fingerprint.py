"""An event's content fingerprint: one event_id, one content (what a resubmission must repeat).

The identity stamps a producer adds (`recorded_at`, `source`) are not content: a client that
resubmits the same event through another edge, or later, sends the same fingerprint.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

FINGERPRINT_BYTES = 16


def fingerprint(event: Any) -> bytes:
    """16 bytes over type, occurred_at, rep_id and every data field (repr is stable for the
    str, Decimal, date, bool and int values events hold; field order is the model's)."""
    data = event.data
    # a pydantic event's data keeps its fields in __dict__; a trusted one (schemas.trusted) is
    # a namedtuple with the same fields in the same order
    if hasattr(data, "_fields"):
        fields = tuple(zip(data._fields, data, strict=True))
    else:
        fields = tuple(data.__dict__.items())
    content = (event.type, event.occurred_at.isoformat(), event.rep_id, fields)
    return blake2b(repr(content).encode(), digest_size=FINGERPRINT_BYTES).digest()
