"""`salespulse produce FILE`: publish JSON-lines events, reporting every bad line by number."""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager, ExitStack, nullcontext
from typing import BinaryIO
from uuid import UUID

from infra.publisher import EventPublisher, PublishError
from infra.settings import Settings, SettingsError
from producers.admission import Admission
from producers.ingest import Rejection
from projections.queries.edge_checks import EdgeChecks
from salespulse.projection_reads import (
    LazyProjections,
    ProjectionsUnavailable,
    cli_guard,
    cli_user,
)
from schemas.events import AnyEvent
from schemas.fingerprint import fingerprint


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "produce",
        help="publish JSON-lines events (FILE, or - for stdin)",
        description="Validate each line as an event (DESIGN.md Part B), print one error line "
        "per problem as 'line N: field: reason', publish every valid line to the events "
        "topic (created on first use), then print 'published N, rejected M'. A TargetSet "
        "for targets under a TargetsLocked lock (on the scope, a unit above it or the "
        "company, same period) is rejected naming the lock, unless --override-locks. "
        "Exit status 1 when any line was rejected, 2 when the file, Kafka or (for targets) "
        "PostgreSQL could not be used.",
    )
    parser.add_argument("file", metavar="FILE", help="a JSON-lines file, or - for stdin")
    parser.add_argument(
        "--topic", help="the topic to publish to (default: SALESPULSE_EVENTS_TOPIC)"
    )
    parser.add_argument(
        "--override-locks",
        action="store_true",
        help="admin: accept TargetSets for locked targets (recorded as overrides)",
    )
    parser.add_argument(
        "--set-by", help="who sets the targets and locks (default: cli:<login name>)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    published = rejected = warned = 0
    # Locks are read from the projections at the first target event, not before: a file
    # without targets needs no database.
    projections = LazyProjections(settings)
    guard = cli_guard(projections, set_by=args.set_by or cli_user(), override=args.override_locks)
    admission = Admission(settings, guard, advisor=EdgeChecks(projections))
    try:
        with ExitStack() as stack:
            stack.callback(projections.close)
            lines = stack.enter_context(_open(args.file))
            publisher: EventPublisher | None = None
            pending: list[tuple[int, AnyEvent]] = []

            def publish_pending() -> None:
                nonlocal publisher, published, rejected
                conflicts = _conflicts(projections, [e for _, e in pending])
                for index, event in pending:
                    if event.event_id in conflicts:
                        rejected += 1
                        print(
                            f"line {index + 1}: event_id: {conflicts[event.event_id]}",
                            file=sys.stderr,
                        )
                        continue
                    if publisher is None:
                        # Connect on the first valid event: a file of bad lines needs no Kafka.
                        publisher = stack.enter_context(
                            EventPublisher(settings, topic=args.topic, source="cli-produce")
                        )
                    publisher.publish(event)
                    published += 1
                pending.clear()

            for index, text in enumerate(lines):
                if index == 0 and text.startswith(_BOM):
                    text = text[len(_BOM) :]  # editors on Windows start files with one
                if not text.strip():
                    continue  # blank lines are skipped but counted for line numbers
                outcome = admission.line(text, index)
                for warning in admission.warnings[warned:]:
                    print(warning.message(), file=sys.stderr)
                warned = len(admission.warnings)
                if isinstance(outcome, Rejection):
                    rejected += 1
                    for message in outcome.messages():
                        print(message, file=sys.stderr)
                    continue
                pending.append((index, outcome))
                if len(pending) >= CHECK_EVERY:
                    publish_pending()
            publish_pending()
            # Leaving the with flushes the publisher: every event acknowledged, or an error.
    except OSError as exc:
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    except (PublishError, ProjectionsUnavailable) as exc:
        # Some events may have reached the log; producing the file again is safe, since
        # consumers count an event_id once. Without the projections no lock can be checked,
        # so targets are not published blind.
        print(f"salespulse produce: {exc}", file=sys.stderr)
        return 2
    warnings = f", {warned} warning(s)" if warned else ""
    print(f"published {published}, rejected {rejected}{warnings}")
    return 1 if rejected else 0


_BOM = b"\xef\xbb\xbf"
# Events are checked against what the projections applied (one event_id, one content) in
# chunks of this many: one query per chunk, not per line.
CHECK_EVERY = 2000


def _conflicts(projections: LazyProjections, events: list[AnyEvent]) -> dict[UUID, str]:
    """event_id -> why, for events whose id the projections applied with other content.

    Without a database nothing can be compared: the fold's rule still keeps the first copy.
    """
    if not events:
        return {}
    try:
        model = projections()
    except ProjectionsUnavailable:
        return {}
    if model is None:
        return {}
    applied = model.applied_fingerprints([e.event_id for e in events])
    return {
        e.event_id: f"event_id {e.event_id} was accepted before with other content: "
        "produce it unchanged, or give the new event its own event_id"
        for e in events
        if applied.get(e.event_id) not in (None, fingerprint(e))
    }


def _open(path: str) -> AbstractContextManager[BinaryIO]:
    """The input as bytes: each line is decoded on its own, so a line that is not UTF-8 is
    reported by number and the rest is still published (a text stream would abort)."""
    if path == "-":
        return nullcontext(sys.stdin.buffer)  # ours to read, not to close
    return open(path, "rb")
