"""Reading an event body safely: the size is capped while reading, identity comes from the token.

A body is refused with 413 as soon as it passes the cap (from Content-Length before reading
a byte, or while streaming), never after a 100 MB body was read and parsed in full.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import Request

from salespulse.api.auth import Principal
from salespulse.api.errors import ApiError

# Identity fields a caller cannot choose for itself: who set a target, when and through what
# the event was accepted. An admin may state them (e.g. entering a target set by the CFO);
# they are then recorded as given, and the source still names the admin's token.
_ENVELOPE_IDENTITY = ("recorded_at", "source")
_DATA_IDENTITY = ("set_by",)


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, or ApiError 413 once it is larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body", f"the body is {declared} bytes; at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body", f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes) -> Any:
    """JSON with numbers as Decimal; 400 naming the problem (never a 500 for deep nesting)."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "body", f"invalid JSON: {exc.msg} (line {exc.lineno})") from exc
    except RecursionError as exc:
        raise ApiError(400, "body", "invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # NaN/Infinity, or bytes that are not UTF-8
        raise ApiError(400, "body", f"invalid JSON: {exc}") from exc


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def with_identity(item: Any, who: Principal) -> Any:
    """The item with the identity fields the caller may not set taken out (so they are filled
    from the token: set_by by the target guard, recorded_at and source by the publisher),
    and the source naming the caller's token."""
    if not isinstance(item, dict):
        return item
    admin = who.role == "admin"
    out = dict(item) if admin else {k: v for k, v in item.items() if k not in _ENVELOPE_IDENTITY}
    if not admin or out.get("source") is None:
        out["source"] = f"http-api:{who.name}"
    data = out.get("data")
    if not admin and isinstance(data, dict) and any(k in data for k in _DATA_IDENTITY):
        out["data"] = {k: v for k, v in data.items() if k not in _DATA_IDENTITY}
    return out
