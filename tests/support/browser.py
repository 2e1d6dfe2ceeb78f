"""Headless Debian Chromium for the browser tests, and what counts as a broken page.

Playwright drives Debian's Chromium (scripts/install_browser.sh puts it there, with the CJK
fonts); it never downloads a browser of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, ViewportSize

CHROMIUM = Path(os.environ.get("SALESPULSE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TV: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Quiet, deterministic Chromium: no GPU, no background traffic to anywhere but loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def watch(page: Page) -> list[str]:
    """Everything that goes wrong on the page from now on: script errors, console errors
    (a missing catalogue key is one) and every 4xx/5xx answer."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems
