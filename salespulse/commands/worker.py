"""`salespulse worker`: run the stream processors that fold the log into PostgreSQL."""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path

import faust

from producers.topics import ensure_topics
from salespulse.runtime import ensure_active_version, fold_context
from salespulse.settings import Settings
from streams.agents.project import register
from streams.announcer import Announcer
from streams.app import create_app
from streams.versions import LiveVersions


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
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    ensure_topics(settings)
    ensure_active_version(settings, args.kpis)
    app = create_app(settings)
    events = app.topic(settings.events_topic, key_type=bytes, value_type=bytes)
    dlq = app.topic(settings.dlq_topic, key_type=bytes, value_type=bytes)
    broadcasts = app.topic(settings.broadcasts_topic, key_type=bytes, value_type=bytes)
    announcer = Announcer(
        settings.database_url,
        settings.schema_prefix,
        settings.zone,
        timedelta(hours=settings.live_cutoff_hours),
    )
    # Every live version: the active one, and replays that caught up (status `ready`).
    versions = LiveVersions(
        settings.database_url, settings.schema_prefix, fold_context(settings),
        settings.kafka_bootstrap, settings.events_topic,
    )  # fmt: skip
    versions.refresh(force=True)
    register(
        app, events, dlq, broadcasts, versions, announcer,
        settings.batch_max, settings.batch_within_ms / 1000,
    )  # fmt: skip
    logging.getLogger("salespulse").setLevel(args.loglevel.upper())
    print(
        f"worker: {settings.events_topic} -> {', '.join(versions.schemas)} "
        f"(group {settings.worker_group}, batches of up to {settings.batch_max} "
        f"within {settings.batch_within_ms} ms)",
        flush=True,
    )
    try:
        faust.Worker(app, loglevel=args.loglevel, quiet=True).execute_from_commandline()
    finally:
        announcer.close()
        versions.close()
    return 0
