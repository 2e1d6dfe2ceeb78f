"""Slack incoming webhook: Block Kit (a header and mrkdwn sections), with `text` as fallback.

Slack caps a section's text at 3,000 characters and a message at 50 blocks, so the lines
are spread over as many sections as needed (the sender keeps a message within MAX_BYTES).
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note

MAX_BYTES = 12_000
_SECTION_CHARS = 3_000


def _escape(text: str) -> str:
    # Slack's mrkdwn reserves these three (its docs: "Escaping text").
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(note: Note) -> dict[str, Any]:
    sections: list[str] = []
    for line in note.lines:
        item = "• " + _escape(line)
        if sections and len(sections[-1]) + 1 + len(item) <= _SECTION_CHARS:
            sections[-1] += "\n" + item
        else:
            sections.append(item)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": note.title[:150]}}
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    return {"text": note.title, "blocks": blocks}


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    return HttpRequest(url, dumps(payload(note)), dict(JSON_HEADERS))
