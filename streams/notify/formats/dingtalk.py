"""DingTalk (钉钉) custom robot: a `markdown` message, signed in the URL when it has a secret.

With the robot's "加签" security setting the webhook URL gets `&timestamp=<ms>&sign=<sig>`
(signing.dingtalk_sign); the robot takes about 20 messages a minute.
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note
from streams.notify.formats.signing import dingtalk_sign

TEXT_BYTES = 4_000


def text(note: Note) -> str:
    return "\n".join([f"### {note.title}", "", *(f"- {line}" for line in note.lines)])


def fits(note: Note) -> bool:
    return len(text(note).encode()) <= TEXT_BYTES


def payload(note: Note) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": note.title, "text": text(note)}}


def signed_url(url: str, secret: str | None, now_s: float) -> str:
    if not secret:
        return url
    timestamp = int(now_s * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    return HttpRequest(signed_url(url, secret, now_s), dumps(payload(note)), dict(JSON_HEADERS))
