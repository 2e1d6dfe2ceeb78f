"""A generic JSON webhook: the note and its facts, signed with HMAC-SHA256 when given a secret.

Headers: `X-SalesPulse-Timestamp` (seconds) and `X-SalesPulse-Signature: sha256=<hex>` of
`f"{timestamp}." + body` (signing.webhook_sign), so a receiver can refuse replays and forgeries.
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note
from streams.notify.formats.signing import webhook_sign

MAX_BYTES = 256_000


def payload(note: Note) -> dict[str, Any]:
    return {
        "title": note.title,
        "lines": list(note.lines),
        "keys": list(note.keys),
        "items": list(note.facts),
    }


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    body = dumps(payload(note))
    headers = dict(JSON_HEADERS)
    if secret:
        timestamp = int(now_s)
        headers["X-SalesPulse-Timestamp"] = str(timestamp)
        headers["X-SalesPulse-Signature"] = webhook_sign(secret, timestamp, body)
    return HttpRequest(url, body, headers)
