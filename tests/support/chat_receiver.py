"""A loopback stand-in for the chat platforms' incoming webhooks, checking what they check.

Paths are `/<kind>/<channel>` (kind: slack, teams, wecom, dingtalk, feishu, webhook). Each
request is checked against the platform's documented body shape and, where the platform
signs, its signature — written here independently of the notifier's code, so a wrong
signature in the notifier fails the tests. The answers are the platforms' own: WeCom and
DingTalk `{"errcode": 0}`, Feishu `{"code": 0}`, an error code in a 200 for a bad signature,
and WeCom's rate limit (errcode 45009 past 20 messages a minute).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    kind: str
    channel: str
    at: float
    body: Any
    text: str  # the raw body, for "does it name X"
    problems: list[str]
    status: int


@dataclass
class ChatReceiver:
    """Start with `start()`; `secrets[channel]` are the signing secrets to check."""

    port: int
    secrets: dict[str, str] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)  # channels answering HTTP 500
    wecom_per_minute: int = 20
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                status, answer = receiver._handle(self.path, dict(self.headers), raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def url(self, kind: str, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{channel}"

    def start(self) -> ChatReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, channel: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.channel == channel]

    # -- checking ---------------------------------------------------------------------------
    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        kind, _, channel = parts.path.strip("/").partition("/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        problems: list[str] = []
        try:
            body = json.loads(raw)
        except ValueError:
            body, problems = None, ["body is not JSON"]
        if body is not None:
            check = getattr(self, f"_check_{kind}", None)
            problems += check(body, query, headers, raw, channel) if check else [f"kind {kind}"]
        status, answer = 200, self._ok(kind)
        if channel in self.failing:
            status, answer = 500, {"error": "internal"}
        elif kind == "wecom" and self._wecom_over_limit(channel):
            answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
        elif problems and kind == "dingtalk":
            answer = {"errcode": 310000, "errmsg": "; ".join(problems)}
        elif problems and kind == "feishu":
            answer = {"code": 19021, "msg": "; ".join(problems)}
        elif problems:
            status, answer = 400, {"error": "; ".join(problems)}
        with self._lock:
            text = raw.decode("utf-8", errors="replace")
            self.received.append(Received(kind, channel, time.time(), body, text, problems, status))
        return status, answer

    def _ok(self, kind: str) -> Any:
        if kind in ("wecom", "dingtalk"):
            return {"errcode": 0, "errmsg": "ok"}
        if kind == "feishu":
            return {"code": 0, "msg": "success", "data": {}}
        return {"ok": True}

    def _wecom_over_limit(self, channel: str) -> bool:
        now = time.time()
        with self._lock:
            recent = [r for r in self.received if r.channel == channel and now - r.at < 60]
        return len(recent) >= self.wecom_per_minute

    def _check_slack(self, body: Any, query: Any, headers: Any, raw: bytes, ch: str) -> list[str]:
        problems = []
        if not isinstance(body.get("text"), str):
            problems.append("slack: text (the notification fallback) missing")
        blocks = body.get("blocks")
        if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
            return [*problems, "slack: blocks must be a list of 1..50"]
        for block in blocks:
            text = block.get("text", {})
            if block.get("type") not in ("header", "section") or text.get("type") not in (
                "plain_text",
                "mrkdwn",
            ):
                problems.append(f"slack: unexpected block {block}")
            elif len(text.get("text", "")) > 3000:
                problems.append("slack: a section over 3000 characters")
        return problems

    def _check_teams(self, body: Any, query: Any, headers: Any, raw: bytes, ch: str) -> list[str]:
        attachments = body.get("attachments") or [{}]
        card = attachments[0].get("content") or {}
        problems = []
        if body.get("type") != "message":
            problems.append("teams: type must be message")
        if attachments[0].get("contentType") != "application/vnd.microsoft.card.adaptive":
            problems.append("teams: attachment must be an Adaptive Card")
        if card.get("type") != "AdaptiveCard" or not card.get("version"):
            problems.append("teams: content must be an AdaptiveCard with a version")
        if not all(b.get("type") == "TextBlock" for b in card.get("body", [None])):
            problems.append("teams: body must be TextBlocks")
        return problems

    def _check_wecom(self, body: Any, query: Any, headers: Any, raw: bytes, ch: str) -> list[str]:
        content = (body.get("markdown") or {}).get("content")
        if body.get("msgtype") != "markdown" or not isinstance(content, str):
            return ["wecom: expected msgtype markdown with markdown.content"]
        if len(content.encode()) > 4096:
            return ["wecom: markdown.content over 4096 bytes"]
        return []

    def _check_dingtalk(
        self, body: Any, query: Any, headers: Any, raw: bytes, ch: str
    ) -> list[str]:
        problems = []
        markdown = body.get("markdown") or {}
        if (
            body.get("msgtype") != "markdown"
            or not markdown.get("title")
            or not markdown.get("text")
        ):
            problems.append("dingtalk: expected msgtype markdown with title and text")
        secret = self.secrets.get(ch)
        if secret:
            stamp, sign = query.get("timestamp"), query.get("sign")
            if not stamp or not sign:
                return [*problems, "dingtalk: timestamp and sign query parameters missing"]
            if abs(time.time() * 1000 - int(stamp)) > 3600_000:
                problems.append("dingtalk: timestamp more than an hour off")
            to_sign = f"{stamp}\n{secret}".encode()
            mac = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
            if base64.b64encode(mac).decode() != sign:
                problems.append("dingtalk: sign does not match")
        return problems

    def _check_feishu(self, body: Any, query: Any, headers: Any, raw: bytes, ch: str) -> list[str]:
        problems = []
        card = body.get("card") or {}
        title = ((card.get("header") or {}).get("title") or {}).get("content")
        if body.get("msg_type") != "interactive" or not title or not card.get("elements"):
            problems.append("feishu: expected an interactive card with a header title")
        secret = self.secrets.get(ch)
        if secret:
            stamp, sign = body.get("timestamp"), body.get("sign")
            if not isinstance(stamp, str) or not sign:
                return [*problems, "feishu: timestamp (a string) and sign missing"]
            if abs(time.time() - int(stamp)) > 3600:
                problems.append("feishu: timestamp more than an hour off")
            key = f"{stamp}\n{secret}".encode()
            if base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode() != sign:
                problems.append("feishu: sign does not match")
        return problems

    def _check_webhook(self, body: Any, query: Any, headers: Any, raw: bytes, ch: str) -> list[str]:
        problems = [] if isinstance(body.get("items"), list) else ["webhook: items missing"]
        secret = self.secrets.get(ch)
        if secret:
            stamp = headers.get("X-SalesPulse-Timestamp", "")
            expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256)
            if headers.get("X-SalesPulse-Signature") != "sha256=" + expected.hexdigest():
                problems.append("webhook: signature does not match")
        return problems
