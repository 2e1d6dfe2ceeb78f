"""`salespulse demo`: stack, topics, workers, API and a simulated sales org producing live."""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path

from infra.settings import Settings, SettingsError
from salespulse.stack.config import StackConfig


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the local stack, workers, API and a live simulated sales org; prints the dashboard",
        description="Start the local stack (unless KAFKA_BOOTSTRAP / DATABASE_URL are set), "
        "create the topics, start the workers and the API, publish a simulated organisation's "
        "recent history, wait until it is applied, print the dashboard URL with an admin "
        "token, then keep the org producing live. A second run on the same event log resumes "
        "the same org instead of publishing the history again. Ctrl-C stops everything it "
        "started (the stack only if it started it).",
    )
    parser.add_argument("--reps", type=_positive, default=40, help="reps (default 40)")
    parser.add_argument(
        "--days", type=_positive, default=45, help="days of history up to today (default 45)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="live events per second (default 30)"
    )
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (8000)")
    parser.add_argument("--workers", type=_positive, default=2, help="worker processes (2)")
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    # Imported here: the demo pulls in the simulator, Kafka and PostgreSQL clients, which the
    # other commands should not pay for at start-up.
    import psycopg
    from kafka.errors import KafkaError

    from infra.publisher import PublishError
    from salespulse.demo.children import ChildFailed
    from salespulse.demo.session import (
        Demo,
        DemoError,
        DemoOptions,
        Interrupted,
        interrupt_on_signals,
    )
    from salespulse.stack.process import StackError

    if args.rate <= 0:
        print("salespulse demo: --rate must be positive", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"salespulse demo: {exc}", file=sys.stderr)
        return 2
    stack = StackConfig.from_env()
    home = stack.state_dir / "demo"
    home.mkdir(parents=True, exist_ok=True)
    lock = _lock(home / f"{settings.events_topic}.lock")
    if lock is None:
        print(
            f"salespulse demo: another demo runs on {settings.events_topic} "
            f"(lock {home / (settings.events_topic + '.lock')}); stop it first",
            file=sys.stderr,
        )
        return 2
    options = DemoOptions(args.reps, args.days, args.seed, args.rate, args.port, args.workers)
    demo = Demo(options, settings, stack, home)
    interrupt_on_signals()
    try:
        return demo.run()
    except Interrupted as why:
        print(f"\n{why}: stopping the demo", flush=True)
        return 0
    except (StackError, ChildFailed, DemoError, PublishError, OSError) as exc:
        print(f"salespulse demo: {exc}", file=sys.stderr, flush=True)
        return 1
    except (KafkaError, psycopg.Error) as exc:
        # A server given by KAFKA_BOOTSTRAP / DATABASE_URL that does not answer, typically.
        print(f"salespulse demo: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        demo.shutdown()
        os.close(lock)


def _lock(path: Path) -> int | None:
    """An exclusive lock held for the demo's life (the kernel drops it if the demo dies)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
