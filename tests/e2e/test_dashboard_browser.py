"""The TV in headless Chromium over a real API and worker: a win, a cheer, a picture, a retraction.

Playwright drives Debian's Chromium (tests/support/browser.py); it never downloads a browser.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from tests.e2e.conftest import Floor, publish
from tests.support.api_process import ApiProcess
from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, TV, watch
from tests.support.builders import Events
from tests.support.sse import Subscriber

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]

TV_TOKEN = "tv-on-the-floor-token-01"
PHONE_TOKEN = "a-reps-phone-token-0001"


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Chromium; each device on the floor gets its own context (its own storage and token)."""
    assert CHROMIUM.exists(), "run scripts/install_browser.sh (scripts/test.sh does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Dashboard:
    """An open dashboard page and whatever went wrong on it (script errors, failed loads)."""

    page: Page
    problems: list[str] = field(default_factory=list)


def open_dashboard(
    context: BrowserContext, url: str, viewport: ViewportSize, token: str
) -> Dashboard:
    """A dashboard whose stream is connected and whose ticker has loaded its history."""
    page = context.new_page()
    page.set_viewport_size(viewport)
    board = Dashboard(page, watch(page))
    # (a token in the address is taken once into the browser's storage, shared by the tabs)
    page.goto(f"{url}/?token={token}")
    page.wait_for_selector("#live.on", timeout=15_000)
    page.wait_for_selector("#ticker li", timeout=15_000)
    return board


# What a viewer would call broken: a panel running off the screen, or a panel cutting off
# part of itself. On a TV nothing may leave the screen (nobody scrolls a TV); on a phone the
# page scrolls down, but nothing may run off to the side. The ticker clips its oldest wins
# on purpose.
LAYOUT_PROBLEMS = """(tv) => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > innerWidth) problems.push(`page is ${page.scrollWidth}px wide`);
  for (const panel of document.querySelectorAll(".panel")) {
    const box = panel.getBoundingClientRect();
    if (box.right > innerWidth + 1) problems.push(`#${panel.id} runs off the side`);
    if (tv && box.bottom > innerHeight + 1) problems.push(`#${panel.id} runs off the bottom`);
    if (panel.id === "ticker-panel") continue;
    for (const part of panel.children) {
      const b = part.getBoundingClientRect();
      if (b.height > 0 && b.bottom > box.bottom + 1) {
        problems.push(`#${panel.id} cuts off ${part.id || part.tagName}`);
      }
    }
  }
  return problems;
}"""


def layout_problems(page: Page, tv: bool) -> list[str]:
    problems: list[str] = page.evaluate(LAYOUT_PROBLEMS, tv)
    return problems


def test_a_won_deal_reaches_the_tv_within_two_seconds_and_a_cheer_counts(
    floor: Floor,
    chromium: Browser,
    start_api: Callable[..., ApiProcess],
    tmp_path: Path,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    winner, cheerer = floor.rep_ids()[:2]
    auth = tmp_path / "auth.toml"
    auth.write_text(
        f'[[tokens]]\ntoken = "{TV_TOKEN}"\nrole = "admin"\nname = "the TV"\n'
        f'[[tokens]]\ntoken = "{PHONE_TOKEN}"\nrole = "rep"\nrep_id = "{cheerer}"\n'
    )
    api = start_api(floor.deployment, env={"SALESPULSE_AUTH_FILE": str(auth)})
    # given the TV on the sales floor and a rep's phone (signed in as the rep), both live
    tv_board = open_dashboard(chromium.new_context(viewport=TV), api.url, TV, TV_TOKEN)
    phone_board = open_dashboard(chromium.new_context(viewport=PHONE), api.url, PHONE, PHONE_TOKEN)
    tv, phone = tv_board.page, phone_board.page
    win = Events(first_id=uuid.uuid4().int >> 64).won(
        winner, datetime.now(UTC), f"o-e2e-{uuid.uuid4().hex[:6]}", "48250.00"
    )
    row = f'#ticker li[data-id="{win.event_id}"]'

    # when the deal is won (produced to Kafka, applied by the worker, pushed by the API)
    started = time.monotonic()
    publish(floor.deployment, [win])
    tv.wait_for_selector(row, timeout=2_000)
    seen_after = time.monotonic() - started

    # then the TV shows it at the top of the ticker, within 2 s, with a banner
    print(f"deal won -> TV ticker: {seen_after:.3f}s")
    assert seen_after < 2.0
    assert tv.locator("#ticker li").first.get_attribute("data-id") == str(win.event_id)
    assert "48" in tv.locator(f"{row} .amount").inner_text()
    assert "$" in tv.locator(f"{row} .amount").inner_text()  # the currency
    assert tv.locator("#banner").is_visible()
    # the celebration covers the ticker, never the leaderboard; the mute button is in view
    banner, board = tv.locator("#banner").bounding_box(), tv.locator("#board-panel").bounding_box()
    assert banner and board and banner["x"] + banner["width"] <= board["x"]
    assert tv.locator("#sound").is_visible()
    assert "48" in tv.locator("#banner .amount").inner_text()
    # (animations="disabled" finishes the banner's pop-in, so the picture shows it whole)
    tv.screenshot(path=str(ARTIFACTS / "dashboard-tv-deal-won.png"), animations="disabled")
    assert tv.locator(f"{row} button.cheer").inner_text().endswith(" 0")

    # when the rep cheers it on the phone: no question asked, the token says who cheers
    phone.wait_for_selector(row, timeout=2_000)
    assert tv.locator(f"{row} button.cheer").is_disabled()  # the TV's admin token is no rep
    phone.locator(f"{row} button.cheer").click()
    # then the phone marks it cheered, and the TV's count rises through the worker and stream
    phone.wait_for_selector(f"{row} button.cheer.done", timeout=5_000)
    tv.wait_for_function(
        f"() => document.querySelector('{row} button.cheer').textContent.endsWith(' 1')",
        timeout=10_000,
    )
    broadcasts = httpx.get(f"{floor.url}/api/broadcasts?limit=5").json()["broadcasts"]
    ours = next(b for b in broadcasts if b["broadcast_id"] == str(win.event_id))
    assert ours["cheers"] == 1

    # and the page fits a 1920×1080 TV (no scrolling) and a phone's width
    tv.wait_for_selector("#banner", state="hidden", timeout=10_000)
    tv.screenshot(path=str(ARTIFACTS / "dashboard-tv.png"))
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    assert layout_problems(tv, tv=True) == []
    assert layout_problems(phone, tv=False) == []
    assert tv_board.problems == []
    assert phone_board.problems == []


def _frames(subscriber: Subscriber, event: str) -> list[dict[str, object]]:
    return [json.loads(f.data) for f in subscriber.frames if f.event == event]


def test_a_cancelled_deal_is_struck_through_on_the_tv_and_announced_once_across_a_kill(
    floor: Floor,
    chromium: Browser,
) -> None:
    rep = floor.rep_ids()[0]
    e = Events(first_id=uuid.uuid4().int >> 64)
    order_id = f"k-e2e-{uuid.uuid4().hex[:6]}"
    order = e.order(rep, datetime.now(UTC) - timedelta(minutes=1), "31000.00", order_id=order_id)
    subscriber = Subscriber(f"{floor.url}/api/stream").start()
    # (the floor's API runs in open local mode: any token is as good as none)
    tv = open_dashboard(chromium.new_context(viewport=TV), floor.url, TV, "open-mode").page
    row = f'#ticker li[data-id="{order.event_id}"]'
    # given a direct order announced on the TV
    publish(floor.deployment, [order])
    tv.wait_for_selector(row, timeout=5_000)
    assert "retracted" not in (tv.locator(row).get_attribute("class") or "")

    # when it is cancelled
    cancel = e.cancel("manager", datetime.now(UTC), order_id)
    started = time.monotonic()
    publish(floor.deployment, [cancel])
    tv.wait_for_selector(f"{row}.retracted", timeout=1_000)
    struck_after = time.monotonic() - started

    # then the TV strikes it through within a second
    print(f"order cancelled -> struck through on the TV: {struck_after:.3f}s")
    assert struck_after < 1.0
    decoration = tv.locator(f"{row} .amount").evaluate(
        "n => getComputedStyle(n).textDecorationLine"
    )
    assert decoration == "line-through"

    # when the worker is SIGKILLed, the cancellation produced again and a new worker started
    floor.worker.kill()
    publish(floor.deployment, [cancel])
    floor.deployment.start_worker()
    floor.deployment.wait_idle()
    time.sleep(1.5)  # room for a repeated frame to show up, if one were coming

    # then the stream carried the retraction exactly once, naming the deal
    subscriber.stop()
    retracted = [
        f
        for f in _frames(subscriber, "deal_retracted")
        if f["payload"]["deal_id"] == str(order.event_id)
    ]  # type: ignore[index]
    assert [f["broadcast_id"] for f in retracted] == [f"correction:{cancel.event_id}"]
    # and a reloaded TV still shows it struck through (from the broadcast history)
    tv.reload()
    tv.wait_for_selector(f"{row}.retracted", timeout=5_000)
