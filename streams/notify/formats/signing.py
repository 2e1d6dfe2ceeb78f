"""The platforms' request signatures (DingTalk, Feishu, our generic webhook), pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk custom robot: base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")), URL-encoded.

    The timestamp is in milliseconds; both go in the webhook URL's query (`timestamp`, `sign`),
    and DingTalk refuses a timestamp more than an hour away from its clock.
    """
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu (Lark) custom bot: base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")).

    Unlike DingTalk, the key is the timestamp-and-secret string and the message is empty; the
    timestamp is in seconds and both travel in the JSON body (`timestamp`, `sign`).
    """
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def webhook_sign(secret: str, timestamp_s: int, body: bytes) -> str:
    """Our generic webhook: hex HMAC-SHA256(secret, f"{ts}." + body), sent as `sha256=<hex>`."""
    message = f"{timestamp_s}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
