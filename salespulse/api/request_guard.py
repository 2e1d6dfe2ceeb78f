"""Requests refused before any route runs: characters no parameter may hold, and, in open
local mode, requests that did not come from this machine's own pages.

Open mode has no tokens, so the browser is the attacker's way in: any web page can POST a
`text/plain` body cross-origin (no preflight), and a DNS-rebinding page reaches 127.0.0.1
under its own host name. So in open mode the Host must be a loopback name, and a write must
come from a loopback Origin (or from no browser at all: curl sends no Origin).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import JSONResponse

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _bad_text(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)


def _error(status: int, parameter: str | None, error: str) -> JSONResponse:
    return JSONResponse({"detail": {"parameter": parameter, "error": error}}, status_code=status)


def _loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    if name.startswith("[") and "]" in name:
        name = name[: name.index("]") + 1]
    return name.lower() in _LOOPBACK_NAMES or name.startswith("127.")


def refusal(request: Request, open_mode: bool) -> JSONResponse | None:
    """The response refusing `request`, or None to let it through."""
    for name, value in request.query_params.multi_items():
        if _bad_text(value) or _bad_text(name):
            return _error(422, name, "contains a NUL or a lone surrogate character")
    if _bad_text(request.url.path):
        return _error(422, "path", "contains a NUL or a lone surrogate character")
    if not open_mode:
        return None
    host = request.headers.get("host", "")
    if not _loopback_host(host):
        return _error(403, "Host", f"open local mode answers loopback hosts only, not {host!r}")
    origin = request.headers.get("origin")
    if request.method not in _SAFE_METHODS:
        cross_site = request.headers.get("sec-fetch-site") == "cross-site"
        if (origin is not None and not _loopback_host(urlsplit(origin).netloc)) or cross_site:
            return _error(403, "Origin", f"open local mode refuses writes from {origin!r}")
    return None


def guard_requests(
    open_mode: bool,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The middleware."""

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        refused = refusal(request, open_mode)
        return refused if refused is not None else await call_next(request)

    return middleware
