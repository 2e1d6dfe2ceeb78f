"""WeCom (企业微信) group robot: a `markdown` message; content at most 4,096 bytes (UTF-8).

The robot takes about 20 messages a minute per webhook; the sender paces and coalesces.
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note

CONTENT_BYTES = 4_096
_COLOR = {"good": "info", "info": "comment", "warning": "warning"}


def content(note: Note) -> str:
    color = _COLOR.get(note.tone, "info")
    head = f'**<font color="{color}">{note.title}</font>**'
    return "\n".join([head, *(f"> {line}" for line in note.lines)])


def fits(note: Note) -> bool:
    return len(content(note).encode()) <= CONTENT_BYTES


def payload(note: Note) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content(note)}}


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    return HttpRequest(url, dumps(payload(note)), dict(JSON_HEADERS))
