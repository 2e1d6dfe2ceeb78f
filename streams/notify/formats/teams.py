"""Microsoft Teams incoming webhook (Workflows or the classic connector): an Adaptive Card.

The card travels as a message attachment of content type
`application/vnd.microsoft.card.adaptive` (Teams' documented webhook form); Teams refuses
bodies over about 28 KB, so the sender keeps a message within MAX_BYTES.
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note

MAX_BYTES = 20_000
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
_COLOR = {"good": "Good", "info": "Accent", "warning": "Warning"}


def card(note: Note) -> dict[str, Any]:
    title = {
        "type": "TextBlock",
        "text": note.title,
        "weight": "Bolder",
        "size": "Medium",
        "color": _COLOR.get(note.tone, "Default"),
        "wrap": True,
    }
    lines = [
        {"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in note.lines
    ]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [title, *lines],
    }


def payload(note: Note) -> dict[str, Any]:
    attachment = {"contentType": CARD_TYPE, "contentUrl": None, "content": card(note)}
    return {"type": "message", "attachments": [attachment]}


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    return HttpRequest(url, dumps(payload(note)), dict(JSON_HEADERS))
