"""The platforms by channel kind: how to render a note, its size limit, and its usual pace."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from streams.notify.formats import dingtalk, feishu, slack, teams, webhook, wecom
from streams.notify.formats.note import HttpRequest, Note

Render = Callable[[Note, str, "str | None", float], HttpRequest]


@dataclass(frozen=True)
class Platform:
    """One chat platform's incoming-webhook rules."""

    render: Render
    fits: Callable[[Note], bool]  # the message is within the platform's size limit
    per_minute: int  # the documented (or prudent) message rate per webhook
    verdict: Callable[[bytes], str | None]  # a 2xx answer's body: None if taken, else why


def _body_within(limit: int, render: Render) -> Callable[[Note], bool]:
    return lambda note: len(render(note, "", "s", 0).body) <= limit


# Error codes that mean "too many messages, try later" (WeCom 45009, DingTalk 130101,
# Feishu 9499 / 11232): retried like a 429; any other non-zero code is final (a bad
# signature, a removed bot) and retrying would only repeat it.
RATE_LIMITED_CODES = frozenset({45009, 130101, 9499, 11232})
RETRY = "retry: "


def _json_code(*fields: str) -> Callable[[bytes], str | None]:
    """Chinese platforms answer 200 with an error code in the body; 0 (or absent) is success."""

    def verdict(body: bytes) -> str | None:
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return None  # not JSON: trust the status code
        if not isinstance(answer, dict):
            return None
        for f in fields:
            code = answer.get(f)
            if code not in (0, None):
                message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage")
                reason = f"{f} {code}: {message}"
                return RETRY + reason if code in RATE_LIMITED_CODES else reason
        return None

    return verdict


def _taken(body: bytes) -> str | None:
    return None


PLATFORMS: dict[str, Platform] = {
    # Slack: about one message per second per webhook.
    "slack": Platform(slack.render, _body_within(slack.MAX_BYTES, slack.render), 60, _taken),
    "teams": Platform(teams.render, _body_within(teams.MAX_BYTES, teams.render), 60, _taken),
    "wecom": Platform(wecom.render, wecom.fits, 20, _json_code("errcode")),
    "dingtalk": Platform(dingtalk.render, dingtalk.fits, 20, _json_code("errcode")),
    # Feishu: 100 a minute and 5 a second per bot; older bots answer StatusCode.
    "feishu": Platform(
        feishu.render,
        _body_within(feishu.MAX_BYTES, feishu.render),
        100,
        _json_code("code", "StatusCode"),
    ),
    "webhook": Platform(
        webhook.render, _body_within(webhook.MAX_BYTES, webhook.render), 600, _taken
    ),
}
