"""`salespulse worker`: run the stream processors that fold the log into PostgreSQL (until stopped)."""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path

import faust

from producers.topics import ensure_topics
from salespulse.runtime import open_store
from salespulse.settings import Settings
from streams.agents.project import register
from streams.announcer import Announcer
from streams.app import create_app


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run the stream processors (until stopped)",
        description="Consume the event log and apply it to the PostgreSQL projections. Start "
        "several: they share the partitions of the events topic (one consumer group).",
    )
    parser.add_argument("--kpis", type=Path, help="KPI definitions file (default: version 1)")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    ensure_topics(settings)
    store = open_store(settings, args.kpis)
    app = create_app(settings)
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes)
    dlq = app.topic(settings.dlq_topic, key_type=bytes, value_type=bytes)
    broadcasts = app.topic(settings.broadcasts_topic, key_type=bytes, value_type=bytes)
    announcer = Announcer(
        settings.database_url,
        store.schema,
        settings.schema_prefix,
        store.ctx.kpis,
        settings.zone,
        timedelta(hours=settings.live_cutoff_hours),
    )
    register(
        app, events, dlq, broadcasts, store, announcer,
        settings.batch_max, settings.batch_within_ms / 1000,
    )  # fmt: skip
    logging.getLogger("salespulse").setLevel(args.loglevel.upper())
    print(
        f"worker: {settings.events_topic} -> {store.schema} "
        f"(group {settings.worker_group}, batches of up to {settings.batch_max} "
        f"within {settings.batch_within_ms} ms)",
        flush=True,
    )
    try:
        faust.Worker(app, loglevel=args.loglevel, quiet=True).execute_from_commandline()
    finally:
        announcer.close()
        store.close()
    return 0
