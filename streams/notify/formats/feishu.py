"""Feishu / Lark (飞书) custom bot: an `interactive` card, signed in the body with a secret.

With the bot's "签名校验" setting the body carries `timestamp` (seconds, a string) and `sign`
(signing.feishu_sign); Feishu refuses a timestamp more than an hour off.
"""

from __future__ import annotations

from typing import Any

from streams.notify.formats._json import JSON_HEADERS, dumps
from streams.notify.formats.note import HttpRequest, Note
from streams.notify.formats.signing import feishu_sign

MAX_BYTES = 20_000
_TEMPLATE = {"good": "green", "info": "blue", "warning": "orange"}


def card(note: Note) -> dict[str, Any]:
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": note.title},
            "template": _TEMPLATE.get(note.tone, "blue"),
        },
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(note.lines)}}],
    }


def payload(note: Note, secret: str | None, now_s: float) -> dict[str, Any]:
    body: dict[str, Any] = {"msg_type": "interactive", "card": card(note)}
    if secret:
        timestamp = int(now_s)
        body["timestamp"] = str(timestamp)
        body["sign"] = feishu_sign(secret, timestamp)
    return body


def render(note: Note, url: str, secret: str | None, now_s: float) -> HttpRequest:
    return HttpRequest(url, dumps(payload(note, secret, now_s)), dict(JSON_HEADERS))
