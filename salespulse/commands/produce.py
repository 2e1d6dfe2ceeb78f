"""`salespulse produce FILE`: publish JSON-lines events, reporting every bad line by number."""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager, ExitStack, nullcontext
from typing import TextIO

from producers.ingest import Rejection, iter_lines
from producers.publisher import EventPublisher, PublishError
from salespulse.settings import Settings, SettingsError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "produce",
        help="publish JSON-lines events (FILE, or - for stdin)",
        description="Validate each line as an event (DESIGN.md Part B), print one error line "
        "per problem as 'line N: field: reason', publish every valid line to the events "
        "topic (created on first use), then print 'published N, rejected M'. Exit status 1 "
        "when any line was rejected, 2 when the file or Kafka could not be used.",
    )
    parser.add_argument("file", metavar="FILE", help="a JSON-lines file, or - for stdin")
    parser.add_argument(
        "--topic", help="the topic to publish to (default: SALESPULSE_EVENTS_TOPIC)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    published = rejected = 0
    try:
        with ExitStack() as stack:
            lines = stack.enter_context(_open(args.file))
            publisher: EventPublisher | None = None
            for outcome in iter_lines(lines, settings):
                if isinstance(outcome, Rejection):
                    rejected += 1
                    for message in outcome.messages():
                        print(message, file=sys.stderr)
                    continue
                if publisher is None:
                    # Connect on the first valid event: a file of only bad lines needs no Kafka.
                    publisher = stack.enter_context(
                        EventPublisher(settings, topic=args.topic, source="cli-produce")
                    )
                publisher.publish(outcome)
                published += 1
            # Leaving the with flushes the publisher: every event acknowledged, or an error.
    except OSError as exc:
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    except PublishError as exc:
        # Some events may have reached the log; producing the file again is safe, since
        # consumers count an event_id once.
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    print(f"published {published}, rejected {rejected}")
    return 1 if rejected else 0


def _open(path: str) -> AbstractContextManager[TextIO]:
    if path == "-":
        return nullcontext(sys.stdin)  # ours to read, not to close
    # utf-8-sig: editors on Windows start files with a byte-order mark.
    return open(path, encoding="utf-8-sig")
