"""`salespulse import FILE --as KIND --map MAP.toml [--dry-run]`: a CRM export to events."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from uuid import UUID

from infra.publisher import EventPublisher, PublishError
from infra.settings import Settings, SettingsError
from producers.importer.mapping import MapError, load_map
from producers.importer.reading import ReadError, read_table
from producers.importer.rows import KINDS, RowProblem
from producers.importer.run import Checked, check_table
from salespulse.projection_reads import (
    LazyProjections,
    ProjectionsUnavailable,
    cli_guard,
    cli_user,
)
from schemas.events import AnyEvent
from schemas.fingerprint import fingerprint

# Imported rows are looked up in the projections this many ids per query.
CHECK_EVERY = 2000


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        help="turn a CRM export (CSV) into events",
        description="Read a CSV export (UTF-8 with or without BOM, or GB18030), map its "
        "columns to event fields with MAP.toml, derive each event id from the row's natural "
        "key (so importing the same file again publishes nothing new), print one line per "
        "problem as 'row N, column C: reason', publish the good rows and print a summary. "
        "Exit status 1 when any row was rejected, 2 when the file, the map, Kafka or "
        "PostgreSQL could not be used.",
    )
    parser.add_argument("file", metavar="FILE", help="the CSV export")
    parser.add_argument("--as", dest="kind", choices=sorted(KINDS), help="what the rows are")
    parser.add_argument("--map", dest="map_file", required=True, metavar="MAP.toml")
    parser.add_argument("--dry-run", action="store_true", help="check and count; publish nothing")
    parser.add_argument(
        "--override-locks", action="store_true", help="admin: accept TargetSets for locked targets"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        imap = load_map(args.map_file)
        kind = args.kind or imap.kind
        if kind is None:
            raise MapError("say what the rows are: --as KIND or kind = ... in the map")
        if kind not in KINDS:
            raise MapError(f"kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
        if args.kind and imap.kind and args.kind != imap.kind:
            raise MapError(f"the map is for {imap.kind!r}, not {args.kind!r}")
        table = read_table(args.file)
    except (SettingsError, MapError, ReadError, OSError, ValueError) as exc:
        print(f"salespulse import: {exc}", file=sys.stderr)
        return 2
    projections = LazyProjections(settings)
    try:
        with ExitStack() as stack:
            stack.callback(projections.close)
            # Locks are read at the first target row: an export of orders needs no lock book.
            guard = cli_guard(projections, set_by=cli_user(), override=args.override_locks)
            checked = check_table(table, kind, imap, settings, guard)
            for problem in checked.problems:
                print(problem, file=sys.stderr)
            new, already, changed = _new(checked, projections)
            for problem in changed:
                print(problem, file=sys.stderr)
            published = 0
            if new and not args.dry_run:
                publisher = stack.enter_context(EventPublisher(settings, source="cli-import"))
                published = publisher.publish_many(new)
    except (PublishError, ProjectionsUnavailable) as exc:
        # Importing again is safe: the ids are the rows' own, and the store counts one once.
        print(f"salespulse import: {exc}", file=sys.stderr)
        return 2
    bad = checked.bad_rows + len({p.row for p in changed})
    verb = "would publish" if args.dry_run else "published"
    print(
        f"{checked.rows} rows ({table.encoding}): {len(checked.events)} events, "
        f"{verb} {len(new) if args.dry_run else published}, already imported {already}, "
        f"rejected rows {bad}"
    )
    return 1 if bad else 0


def _new(
    checked: Checked, projections: LazyProjections
) -> tuple[list[AnyEvent], int, list[RowProblem]]:
    """The admitted events the projections have not applied yet, how many they have, and
    the rows whose record was imported before with other content (a changed export row)."""
    admitted = [event for _, event in checked.events]
    try:
        model = projections() if admitted else None
    except ProjectionsUnavailable as exc:
        if any(e.type == "TargetSet" for e in admitted):
            raise  # without the projections no lock can be checked
        # Publishing what was imported before is harmless (the store counts an id once);
        # only the count of new events is then unknown.
        print(f"salespulse import: {exc}; publishing every row", file=sys.stderr)
        model = None
    applied: dict[UUID, bytes | None] = {}
    if model is not None:
        ids = [e.event_id for e in admitted]
        for start in range(0, len(ids), CHECK_EVERY):
            applied.update(model.applied_fingerprints(ids[start : start + CHECK_EVERY]))
    changed = [
        RowProblem(row, None, f"changed since it was imported (event_id {e.event_id}): "
                   "record the change as its own event, e.g. OrderAmended")
        for row, e in checked.events
        if applied.get(e.event_id) not in (None, fingerprint(e))
    ]  # fmt: skip
    new = [e for e in admitted if e.event_id not in applied]
    return new, len(applied) - len(changed), changed
