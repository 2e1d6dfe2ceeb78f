"""`salespulse wait-idle`: return when the projections have applied every event now in the log."""

from __future__ import annotations

import argparse
import sys
import time

from producers.lag import end_offsets, lag
from salespulse.runtime import open_store
from salespulse.settings import Settings

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
    with open_store(settings) as store:
        while True:
            remaining = lag(target, store.offsets())
            if not any(remaining.values()):
                print(f"idle: {sum(target.values())} events applied to {store.schema}")
                return 0
            if time.monotonic() >= deadline:
                print(
                    f"wait-idle: timed out after {args.timeout:.0f}s; lag per partition: "
                    + ", ".join(f"{p}={n}" for p, n in remaining.items() if n),
                    file=sys.stderr,
                )
                return 1
            time.sleep(POLL_S)
