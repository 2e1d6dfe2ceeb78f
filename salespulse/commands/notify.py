"""`salespulse notify [--channels FILE]`: post announcements and digests to chat channels."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from infra.settings import Settings, SettingsError
from infra.topics import ensure_topics
from streams.notify.channels import Channel, ChannelsError, load_channels
from streams.notify.service import Notifier

CHANNELS_VARIABLE = "SALESPULSE_NOTIFY_CHANNELS"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="post announcements and digests to Slack, Teams, WeCom, DingTalk, Feishu",
        description="Consume the broadcasts topic (consumer group SALESPULSE_NOTIFY_GROUP) and "
        "post each live announcement once to every channel of the channels file that takes "
        "it, plus the daily and weekly digests. Delivery state is kept in PostgreSQL: a "
        "restart or a replay sends nothing already sent. Runs until stopped.",
    )
    parser.add_argument(
        "--channels",
        metavar="FILE",
        default=os.environ.get(CHANNELS_VARIABLE),
        help=f"the channels TOML file (default: ${CHANNELS_VARIABLE})",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.channels:
        print(
            f"salespulse notify: give --channels FILE (or set {CHANNELS_VARIABLE})", file=sys.stderr
        )
        return 2
    try:
        settings = Settings.from_env()
        channels = load_channels(args.channels)
    except (SettingsError, ChannelsError, OSError) as exc:
        print(f"salespulse notify: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("streams").setLevel(args.loglevel.upper())
    ensure_topics(settings)
    names = ", ".join(f"{c.name} ({c.kind})" for c in channels) or "none"
    print(
        f"notify: {settings.broadcasts_topic} -> {names} (group {settings.notify_group})",
        flush=True,
    )
    asyncio.run(_run(settings, channels))
    return 0


async def _run(settings: Settings, channels: list[Channel]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await Notifier(settings, channels, group=settings.notify_group).run(stop)
