"""What the demo shows and hands out: progress lines, and the admin token of its dashboard."""

from __future__ import annotations

import os
import secrets
import sys
import time
import tomllib
from pathlib import Path

from salespulse.api.auth import MIN_TOKEN_LENGTH

_EVERY_S = 2.0  # without a terminal, one progress line per interval (logs stay short)


class Status:
    """A progress line: rewritten in place on a terminal, printed now and then otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stdout.isatty()
        self._next = 0.0
        self._width = 0

    def update(self, text: str) -> None:
        now = time.monotonic()
        if self._tty:
            print(f"\r{text.ljust(self._width)}", end="", flush=True)
            self._width = len(text)
        elif now >= self._next:
            print(text, flush=True)
        if now >= self._next:
            self._next = now + _EVERY_S

    def done(self, text: str) -> None:
        print(f"\r{text.ljust(self._width)}" if self._tty else text, flush=True)


def admin_token(path: Path) -> str:
    """The demo's admin token from its auth file, written with a new random token when missing.
    Kept across runs, so a browser that opened the dashboard once stays signed in."""
    try:
        token = tomllib.loads(path.read_text())["tokens"][0]["token"]
        if isinstance(token, str) and len(token) >= MIN_TOKEN_LENGTH:
            return token
    except (OSError, tomllib.TOMLDecodeError, KeyError, IndexError, TypeError):
        pass
    token = secrets.token_urlsafe(24)  # URL-safe: it goes into the dashboard link as is
    text = (
        "# Written by `salespulse demo`: the API of the demo reads it (SALESPULSE_AUTH_FILE).\n"
        f'[[tokens]]\ntoken = "{token}"\nrole = "admin"\nname = "Demo admin"\n'
    )
    # Owner-only from the first byte: the token is a password.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return token
