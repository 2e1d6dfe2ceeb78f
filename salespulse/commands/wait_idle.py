"""`salespulse wait-idle`: return when the projections have applied every event now in the log."""

from __future__ import annotations

import argparse
import sys
import time

from infra.offsets import end_offsets, lag
from infra.settings import Settings
from salespulse.runtime import ensure_active_version, live_offsets

POLL_S = 0.2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "wait-idle",
        help="wait until every projection has applied every event in the log (lag 0)",
        description="Takes the log's end offsets once, then waits until the projection has "
        "applied up to them. Exit 0 when idle, 1 on timeout (the lag is printed).",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # The log's end now: events produced after this call are not waited for.
    target = end_offsets(settings.kafka_bootstrap, settings.events_topic)
    deadline = time.monotonic() + args.timeout
    ensure_active_version(settings)
    while True:
        lags = {v: lag(target, applied) for v, applied in live_offsets(settings).items()}
        behind = {v: {p: n for p, n in r.items() if n} for v, r in lags.items()}
        if not any(behind.values()):
            versions = ", ".join(f"v{v}" for v in sorted(lags))
            print(f"idle: {sum(target.values())} log records applied to {versions}")
            return 0
        if time.monotonic() >= deadline:
            print(
                f"wait-idle: timed out after {args.timeout:.0f}s; records behind: "
                + "; ".join(
                    f"v{v} " + ", ".join(f"partition {p}: {n}" for p, n in r.items())
                    for v, r in behind.items()
                    if r
                ),
                file=sys.stderr,
            )
            return 1
        time.sleep(POLL_S)
