"""One demo run: stack, topics, workers, API, the org's history, then live events until stopped."""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import FrameType

from infra.offsets import end_offsets, lag
from infra.publisher import EventPublisher
from infra.settings import Settings
from infra.topics import ensure_topics
from producers.admission import Admission
from producers.simulator.outbox import Emitted
from producers.simulator.rhythm import Clock
from salespulse.demo.children import Child, stop_all
from salespulse.demo.console import Status, admin_token
from salespulse.demo.feed import LiveFeed, publish_history
from salespulse.demo.plan import DemoPlan, load_plan, save_plan
from salespulse.runtime import ensure_active_version, live_offsets
from salespulse.stack.config import StackConfig
from salespulse.stack.kafka import LocalKafka
from salespulse.stack.postgres import LocalPostgres
from salespulse.stack.process import ensure_port_free

HOST = "127.0.0.1"  # the API gets an auth file, but a demo has no business on the network
STALL_S = 120.0  # the workers applied nothing for this long: something is wrong, say so
API_START_S = 60.0
LIVE_STATUS_EVERY_S = 30.0
API_GRACE_S = 3.0  # for open dashboard streams to end before the API is told to stop waiting


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why and where to look."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: stop everything the demo started. A BaseException, like
    KeyboardInterrupt, so no `except Exception` on the way up swallows it."""


@dataclass(frozen=True)
class DemoOptions:
    reps: int
    days: int
    seed: int
    rate: float
    port: int
    workers: int


@dataclass
class Demo:
    options: DemoOptions
    settings: Settings
    stack: StackConfig
    home: Path  # <state>/demo
    started: float = field(default_factory=time.monotonic)
    children: list[Child] = field(default_factory=list)
    owned: list[LocalKafka | LocalPostgres] = field(default_factory=list)
    publisher: EventPublisher | None = None
    plan: DemoPlan | None = None
    feed: LiveFeed | None = None

    @property
    def plan_file(self) -> Path:
        # One plan per event log: another SALESPULSE_EVENTS_TOPIC is another organisation.
        return self.home / f"{self.settings.events_topic}.plan.json"

    def run(self) -> int:
        self._stack_up()
        ensure_topics(self.settings)
        in_log = sum(
            end_offsets(self.settings.kafka_bootstrap, self.settings.events_topic).values()
        )
        plan = self._choose_plan(in_log)
        token = admin_token(self.home / "auth.toml")
        self._start_services()
        self.publisher = EventPublisher(self.settings, source="demo")
        items = plan.remaining()
        if plan.history_days and not plan.published:
            count, items = self._publish_history(plan, items)
            plan = plan.advanced(count)
        self.plan = plan
        save_plan(self.plan_file, plan)
        self._wait_applied()
        self._wait_api()
        url = f"http://{HOST}:{self.options.port}/?token={token}"
        print(f"dashboard ready in {time.monotonic() - self.started:.1f} s: {url}", flush=True)
        print(
            f"admin token: {token} (Authorization: Bearer ...; file {self.home / 'auth.toml'})\n"
            f"live: {self.options.rate:g} events/s from the simulated org; Ctrl-C stops the demo",
            flush=True,
        )
        self._live(plan, items)
        return 0

    # -- steps ----------------------------------------------------------------------------
    def _stack_up(self) -> None:
        for server in (LocalPostgres(self.stack), LocalKafka(self.stack)):
            st = server.status()
            if not st.external and st.pid is None:
                # Owned before up() returns: an interrupt during a slow start still stops it.
                self.owned.append(server)
            print(server.up(), flush=True)

    def _choose_plan(self, in_log: int) -> DemoPlan:
        o, s = self.options, self.settings
        today = datetime.now(s.zone).date()
        saved = load_plan(self.plan_file)
        if in_log == 0:
            plan = DemoPlan.history_until_today(
                o.reps, o.days, o.seed, today, s.tz, s.base_currency
            )
            print(
                f"org: {o.reps} reps, seed {o.seed}; history {plan.start} .. today "
                f"({o.days} days) into the empty {s.events_topic}",
                flush=True,
            )
        elif saved is not None and saved.history_days and not saved.published:
            plan = saved
            print(
                f"{s.events_topic} holds {in_log:,} events of an unfinished history: publishing "
                "it again (an event already applied is never counted twice)",
                flush=True,
            )
        elif saved is not None:
            plan = saved
            print(
                f"{s.events_topic} already holds {in_log:,} events: no new history; resuming "
                f"the simulated org ({plan.reps} reps, seed {plan.seed}, since {plan.start}) "
                f"after its event {plan.published:,}",
                flush=True,
            )
        else:
            plan = DemoPlan.live_from_today(o.reps, today, s.tz, s.base_currency)
            print(
                f"{s.events_topic} already holds {in_log:,} events the demo did not write: "
                f"no history added; a new org of {o.reps} reps goes live",
                flush=True,
            )
        save_plan(self.plan_file, plan)
        return plan

    def _start_services(self) -> None:
        ensure_port_free(HOST, self.options.port, "the API", "--port")
        # The projection schema and its active version are made here, once, before two
        # workers start: two workers migrating a fresh database at the same moment can
        # deadlock on the version registry (PostgresProjectionStore.migrate activates outside
        # its advisory lock) and one of them exits.
        ensure_active_version(self.settings)
        logs = self.home / "logs"
        env = dict(os.environ)
        for i in range(1, self.options.workers + 1):
            name = f"worker-{i}"
            self.children.append(Child.start(name, ["worker"], env, logs / f"{name}.log"))
        self.children.append(
            Child.start("notify", ["notify", "--channels", str(self._channels())], env,
                        logs / "notify.log")
        )  # fmt: skip
        api_env = {**env, "SALESPULSE_AUTH_FILE": str(self.home / "auth.toml")}
        api_args = ["api", "--host", HOST, "--port", str(self.options.port)]
        self.children.append(
            Child.start("api", api_args, api_env, logs / "api.log", force_after_s=API_GRACE_S)
        )
        pids = ", ".join(f"{c.name} {c.pid}" for c in self.children)
        print(f"started {pids}; logs in {logs}", flush=True)

    def _channels(self) -> Path:
        """The chat channels file: SALESPULSE_NOTIFY_CHANNELS, else <demo>/channels.toml.

        The demo's own file starts as a template with every platform commented out, so the
        notifier runs (and records nothing) until someone adds a webhook to it.
        """
        given = os.environ.get("SALESPULSE_NOTIFY_CHANNELS")
        if given:
            return Path(given)
        path = self.home / "channels.toml"
        if not path.exists():
            template = resources.files("salespulse.demo").joinpath("channels.template.toml")
            path.write_text(template.read_text("utf-8"), encoding="utf-8")
        return path

    def _admission(self) -> Admission:
        # The simulated org goes in the one way every event does; its resubmissions are
        # deliberate (clients retrying), so they are not refused as in-input duplicates.
        return Admission(self.settings, dedupe_within_input=False)

    def _publish_history(
        self, plan: DemoPlan, items: Iterator[Emitted]
    ) -> tuple[int, Iterator[Emitted]]:
        assert self.publisher is not None
        status = Status()
        start_ts = datetime.combine(plan.start, datetime.min.time(), self.settings.zone)

        def progress(count: int, publish_ts: int) -> None:
            day = int((publish_ts - start_ts.timestamp()) // 86400) + 1
            status.update(f"history: day {day}/{plan.history_days}, {count:,} events published")
            self._check_children()

        began = time.monotonic()
        count, rest = publish_history(
            items, int(time.time()), self.publisher, progress, self._admission()
        )
        took = time.monotonic() - began
        status.done(f"history: {count:,} events published in {took:.1f} s")
        return count, rest

    def _wait_applied(self) -> None:
        """What `wait-idle` does, with progress: every live projection version has applied the
        log as it is now."""
        target = end_offsets(self.settings.kafka_bootstrap, self.settings.events_topic)
        total = sum(target.values())
        status, began = Status(), time.monotonic()
        last, changed = -1, time.monotonic()
        ensure_active_version(self.settings)
        while True:
            self._check_children()
            behind = [sum(lag(target, a).values()) for a in live_offsets(self.settings).values()]
            applied = total - max(behind, default=total)
            status.update(f"applying: {applied:,} / {total:,} events")
            if applied >= total:
                break
            if applied != last:
                last, changed = applied, time.monotonic()
            elif time.monotonic() - changed > STALL_S:
                raise DemoError(
                    f"the workers applied nothing for {STALL_S:.0f} s "
                    f"(at {applied:,} / {total:,}); see {self.home / 'logs'}"
                )
            time.sleep(0.5)
        status.done(f"applied: {total:,} events in {time.monotonic() - began:.1f} s")

    def _wait_api(self) -> None:
        deadline = time.monotonic() + API_START_S
        url = f"http://{HOST}:{self.options.port}/health"
        while True:
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"the API did not answer {url} within {API_START_S:.0f} s")
            time.sleep(0.25)

    def _live(self, plan: DemoPlan, items: Iterator[Emitted]) -> None:
        assert self.publisher is not None
        clock = Clock(plan.config().zone)
        self.feed = feed = LiveFeed(self.publisher, self.options.rate, clock, self._admission())
        began = time.monotonic()
        next_status = began + LIVE_STATUS_EVERY_S

        def tick() -> None:
            nonlocal next_status
            save_plan(self.plan_file, plan.advanced(feed.published))
            now = time.monotonic()
            if now >= next_status:
                next_status = now + LIVE_STATUS_EVERY_S
                print(
                    f"live: {feed.published:,} events in {now - began:.0f} s, "
                    f"{feed.won:,} deals won",
                    flush=True,
                )

        feed.run(items, self._nap, tick)
        print("the simulated span is over: no more live events; Ctrl-C stops the demo", flush=True)
        while True:
            self._nap(1.0)

    def _nap(self, seconds: float) -> None:
        self._check_children()
        time.sleep(seconds)

    def _check_children(self) -> None:
        for child in self.children:
            child.check()

    # -- the end --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop what this run started, newest first; safe to call after any failure."""
        if self.feed is not None and self.plan is not None:
            save_plan(self.plan_file, self.plan.advanced(self.feed.published))
            print(f"live: {self.feed.published:,} events published this run", flush=True)
        if self.publisher is not None:
            try:
                self.publisher.flush(timeout=10)
            except Exception as exc:  # reported: the rest must still stop
                print(f"live: last events not delivered: {exc}", file=sys.stderr)
            self.publisher.close(raise_errors=False)
        for line in stop_all(self.children):
            print(line, flush=True)
        # Kafka first, as `stack down` does: workers may still be flushing to PostgreSQL.
        for server in sorted(self.owned, key=lambda s: isinstance(s, LocalPostgres)):
            print(server.down(), flush=True)


def interrupt_on_signals() -> None:
    """The first SIGINT/SIGTERM raises Interrupted; later ones only say the demo is stopping,
    so a second Ctrl-C cannot cut the clean-up short and leave processes behind."""

    def stopping(signum: int, frame: FrameType | None) -> None:
        print("\nstill stopping; please wait", file=sys.stderr, flush=True)

    def first(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, stopping)
        signal.signal(signal.SIGTERM, stopping)
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, first)
    signal.signal(signal.SIGTERM, first)
