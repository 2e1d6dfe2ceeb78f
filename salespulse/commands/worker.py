"""`salespulse worker`: run the stream processors that fold the log into PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import faust
import psycopg
from kafka.errors import KafkaError

from infra.settings import WORKER_ENGINES, Settings
from infra.topics import ensure_topics
from salespulse.runtime import ensure_active_version, fold_context
from streams.agents.project import register
from streams.announcer import Announcer
from streams.app import create_app
from streams.batch_engine import BatchEngine
from streams.deadletter import describe
from streams.versions import LiveVersions

log = logging.getLogger("salespulse.worker")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the stream processors (until stopped)",
        description="Consume the event log and apply it to the PostgreSQL projections. Start "
        "several: they share the partitions of the events topic (one consumer group).",
    )
    parser.add_argument(
        "--kpis",
        type=Path,
        help="KPI definitions for a fresh database (default: version 1); later versions come "
        "from `salespulse replay`",
    )
    parser.add_argument(
        "--engine",
        choices=WORKER_ENGINES,
        help="batch: aiokafka batches into the store (default; SALESPULSE_WORKER_ENGINE); "
        "faust: a faust-streaming agent (about a quarter of the throughput, see README.md)",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    engine = args.engine or settings.worker_engine
    logging.basicConfig(format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    # SIGTERM before the engine runs (e.g. while waiting for a server): stop at once, cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    announcer, versions = _start(settings, args.kpis)
    logging.getLogger("salespulse").setLevel(args.loglevel.upper())
    logging.getLogger("streams").setLevel(args.loglevel.upper())
    print(
        f"worker ({engine} engine): {settings.events_topic} -> {', '.join(versions.schemas)} "
        f"(group {settings.worker_group}, batches of up to {settings.batch_max} "
        f"within {settings.batch_within_ms} ms)",
        flush=True,
    )
    try:
        if engine == "faust":
            _run_faust(settings, versions, announcer, args.loglevel)
        else:
            asyncio.run(_run_batch(settings, versions, announcer))
    finally:
        announcer.close()
        versions.close()
    return 0


def _start(settings: Settings, kpis: Path | None) -> tuple[Announcer, LiveVersions]:
    """Topics, the active version, the announcer and the live versions; while the broker or
    the database is away (a restart of the whole deployment), wait for it with backoff."""
    delay = 0.5
    while True:
        try:
            ensure_topics(settings)
            ensure_active_version(settings, kpis)
            announcer = Announcer(
                settings.database_url,
                settings.schema_prefix,
                settings.zone,
                timedelta(hours=settings.live_cutoff_hours),
            )
            # Every live version: the active one, and replays that caught up (`ready`).
            versions = LiveVersions(
                settings.database_url, settings.schema_prefix, fold_context(settings),
                settings.kafka_bootstrap, settings.events_topic,
            )  # fmt: skip
            versions.refresh(force=True)
            return announcer, versions
        except (psycopg.OperationalError, KafkaError) as exc:
            log.warning("worker start: %s; retrying in %.1fs", describe(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _run_batch(settings: Settings, versions: LiveVersions, announcer: Announcer) -> None:
    engine = BatchEngine(settings, versions, announcer)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, engine.stop)
    await engine.run()


def _run_faust(
    settings: Settings, versions: LiveVersions, announcer: Announcer, loglevel: str
) -> None:
    app = create_app(settings)
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes)
    dlq = app.topic(settings.dlq_topic, key_type=bytes, value_type=bytes)
    broadcasts = app.topic(settings.broadcasts_topic, key_type=bytes, value_type=bytes)
    register(
        app, events, dlq, broadcasts, versions, announcer,
        settings.batch_max, settings.batch_within_ms / 1000,
    )  # fmt: skip
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
