"""The platform-neutral message (a Note) and the HTTP request a format makes of it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    """One chat message before formatting: a title and plain-text lines (no markup).

    `keys` are the announcement keys it carries (one for a single win, many for a summary,
    a digest key for a digest); `facts` is the structured form for the generic webhook.
    """

    title: str
    lines: tuple[str, ...]
    keys: tuple[str, ...]
    facts: tuple[dict[str, object], ...] = field(default=())
    tone: str = "good"  # good (a win), info (a digest), warning (a retraction)


@dataclass(frozen=True)
class HttpRequest:
    """A POST to make: the URL (with any signature in its query), the body and headers."""

    url: str
    body: bytes
    headers: dict[str, str]
