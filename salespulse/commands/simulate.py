"""`salespulse simulate`: a realistic org history as JSON lines, or published to Kafka."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from infra.settings import Settings, SettingsError
from producers.simulator import DEFAULT_START, SimConfig, iter_emitted
from producers.simulator.live import paced
from producers.simulator.rhythm import Clock

_BATCH = 2000  # lines per write / events per publish_many: amortises the per-call cost
_PROGRESS_EVERY_S = 2.0


class _UsageError(ValueError):
    """A bad option value; reported on stderr with exit status 2."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="a deterministic, realistic sales-org history (JSON lines or --publish)",
        description="Simulate a sales organisation: units, staff changes, top-down targets, "
        "calls, visits, leads, deals, orders, payments and cheers, with late and resubmitted "
        "events, in publish order. The same arguments always give byte-identical output.",
    )
    parser.add_argument("--reps", type=int, default=20, help="reps at the start (default 20)")
    parser.add_argument("--days", type=int, default=30, help="calendar days (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        help="first day, YYYY-MM-DD in the org time zone (default 2026-01-01; today with --rate)",
    )
    parser.add_argument("--tz", help="org time zone (default: SALESPULSE_TZ, else UTC)")
    parser.add_argument(
        "--currencies",
        default="",
        help="comma-separated foreign currencies some deals are written in; each needs a rate "
        "in SALESPULSE_FX_RATES (default: none, every amount in the base currency)",
    )
    parser.add_argument("--publish", action="store_true", help="publish to Kafka, not stdout")
    parser.add_argument(
        "--rate",
        type=float,
        help="events per second, sleep-paced; occurred_at then follows the wall clock",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        config = _config(args, settings)
    except (SettingsError, _UsageError) as exc:
        print(f"salespulse simulate: {exc}", file=sys.stderr)
        return 2
    emitted = iter_emitted(config)
    lines: Iterable[str] = (
        paced(emitted, args.rate, Clock(config.zone)) if args.rate else (e[3] for e in emitted)
    )
    if args.publish:
        return _publish(lines, settings, _Progress("published", live=bool(args.rate)))
    return _write(lines, _Progress("simulated", live=bool(args.rate)))


def _config(args: argparse.Namespace, settings: Settings) -> SimConfig:
    tz = args.tz or settings.tz
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _UsageError(f"--tz: {tz!r} is not a known time zone") from None
    if args.rate is not None and args.rate <= 0:
        raise _UsageError("--rate must be positive")
    currencies = tuple(c.strip().upper() for c in args.currencies.split(",") if c.strip())
    for code in currencies:
        if not settings.accepts_currency(code):
            raise _UsageError(f"--currencies: {settings.currency_problem(code)}")
    # A live demo starts today, so its targets are for the months the dashboard shows.
    start = args.start or (datetime.now(zone).date() if args.rate else DEFAULT_START)
    try:
        return SimConfig(
            reps=args.reps,
            days=args.days,
            seed=args.seed,
            start=start,
            tz=tz,
            base_currency=settings.base_currency,
            currencies=tuple(c for c in currencies if c != settings.base_currency),
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc


def _write(lines: Iterable[str], progress: _Progress) -> int:
    out = sys.stdout
    try:
        for batch in _batches(lines, 1 if progress.live else _BATCH):
            out.write("\n".join(batch) + "\n")
            if progress.live:
                out.flush()
            progress.add(len(batch))
        out.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as a Unix filter does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        pass  # a live run is stopped with Ctrl-C: still print the summary
    progress.done()
    return 0


def _publish(lines: Iterable[str], settings: Settings, progress: _Progress) -> int:
    # Imported here: writing JSON lines must work without a Kafka client installed.
    from infra.publisher import EventPublisher, PublishError
    from producers.admission import Admission

    # The one admission path; the simulator's resubmissions are deliberate (clients retrying).
    admission = Admission(settings, dedupe_within_input=False)
    try:
        with EventPublisher(settings, source="simulator") as publisher:
            try:
                for batch in _batches(lines, 1 if progress.live else _BATCH):
                    first = progress.count
                    events = [admission.generated(line, first + i) for i, line in enumerate(batch)]
                    publisher.publish_many(events)
                    progress.add(len(batch))
            except KeyboardInterrupt:
                pass  # leaving the with still flushes what was sent
    except PublishError as exc:
        progress.done()
        print(f"salespulse simulate: {exc}", file=sys.stderr)
        return 2
    progress.done()
    return 0


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Progress:
    """A progress line on stderr every few seconds, and a summary with the rate at the end."""

    def __init__(self, verb: str, live: bool) -> None:
        self.verb = verb
        self.live = live
        self.count = 0
        self.started = time.monotonic()
        self._next = self.started + _PROGRESS_EVERY_S

    def add(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if now >= self._next:
            self._next = now + _PROGRESS_EVERY_S
            print(f"\r{self._line(now)}", end="", file=sys.stderr, flush=True)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.count / elapsed
        return f"{self.verb} {self.count} events in {elapsed:.1f} s ({rate:,.0f} events/s)"

    def done(self) -> None:
        print(f"\r{self._line(time.monotonic())}", file=sys.stderr, flush=True)
