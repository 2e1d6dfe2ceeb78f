"""`salespulse targets split`: decompose a target across time or down the org into TargetSets.

Exit status: 0 published (or nothing new to publish, or --preview); 1 refused because a
target lock covers a child (nothing published); 2 bad arguments, or Kafka / PostgreSQL
unusable.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from infra.settings import Settings, SettingsError
from producers.admission import Admission
from projections.model.kpi import KpiError
from projections.targets.decomposition import DecompositionError, Plan, decompose
from projections.targets.decomposition.publish import prepare
from projections.targets.decomposition.request import TIME_INTO
from salespulse.commands.targets_request import UsageError, build_request, parse, render_table
from salespulse.projection_reads import (
    LazyProjections,
    ProjectionsUnavailable,
    cli_guard,
    cli_user,
)
from schemas.periods import PeriodError

_PROG = "salespulse targets split"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    targets = subparsers.add_parser("targets", help="set and decompose targets")
    commands = targets.add_subparsers(dest="targets_command", metavar="SUBCOMMAND")
    commands.required = True
    split = commands.add_parser(
        "split",
        help="decompose a target into TargetSet events (--preview prints only)",
        description="Split a parent target across time (quarters, months, ISO weeks, days) or "
        "down the organisation (child units, reps). Children add up to the parent exactly "
        "(largest remainder, ties to the later child); with --prorate, what late joiners do "
        "not get stays unallocated at the parent. The same request always yields the same "
        "decomposition_id and event_ids: events of it already projected are not published again. "
        "Exit status 1 when a target lock covers a child (nothing is published).",
    )
    split.add_argument("--scope", required=True, help="company, unit:<id> or rep:<id>")
    split.add_argument("--metric", required=True, help="a KPI metric, e.g. revenue")
    split.add_argument("--period", required=True, help="2026, 2026-Q4, 2026-11, 2026-W45, ...")
    split.add_argument(
        "--value", help="the parent target, e.g. 1000000 (default: its current target)"
    )
    split.add_argument("--into", required=True, choices=[*TIME_INTO, "children", "reps"])
    split.add_argument(
        "--by", default="even", choices=["even", "weights", "days", "working-days", "share"]
    )
    split.add_argument("--weights", help="comma-separated, one per child: 1,2,3,4")
    split.add_argument("--holidays", help="comma-separated dates excluded from working days")
    split.add_argument("--weekend", default="sat,sun", help="non-working weekdays (sat,sun)")
    split.add_argument("--children", help="child ids or scopes, in order: a,b,c")
    split.add_argument("--reference-period", help="the period whose actuals give --by share")
    split.add_argument("--shares", help="reference actuals given explicitly: a=120,b=80")
    split.add_argument("--prorate", action="store_true", help="pro-rate by days in the unit")
    split.add_argument("--joined", action="append", default=[], metavar="ID=DATE")
    split.add_argument("--left", action="append", default=[], metavar="ID=DATE")
    split.add_argument("--currency", help="currency of the value (default: base currency)")
    split.add_argument("--quantity", choices=["money", "count"], help="default: from --kpis")
    split.add_argument("--kpis", help="KPI definitions file (default: version 1)")
    split.add_argument("--decomposition-id", type=UUID, help="default: derived from the request")
    split.add_argument("--at", help="occurred_at of the events, RFC 3339 (default: now)")
    split.add_argument("--preview", action="store_true", help="print the split, publish nothing")
    split.add_argument("--set-by", help="who sets the targets (default: cli:<login name>)")
    split.add_argument(
        "--override-locks",
        action="store_true",
        help="admin: publish children whose targets are locked (recorded as overrides)",
    )
    split.add_argument("--json", action="store_true", help="print TargetSet events as JSON lines")
    split.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    # Opened only if something must be read: a preview with explicit children needs no database.
    projections = LazyProjections(settings)
    try:
        return _run(args, settings, projections)
    finally:
        projections.close()


def _run(args: argparse.Namespace, settings: Settings, projections: LazyProjections) -> int:
    set_by = args.set_by or cli_user()
    try:
        request = build_request(args, settings, projections)
        plan = decompose(request)
        at = parse(args.at, datetime.fromisoformat, "--at") if args.at else None
        at = at or datetime.now(ZoneInfo(settings.tz))
        events = plan.events(at, set_by)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "request"
            message = str(error["msg"]).removeprefix("Value error, ")
            print(f"{_PROG}: {where}: {message}", file=sys.stderr)
        return 2
    except (UsageError, DecompositionError, KpiError, PeriodError) as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        for event in events:
            print(json.dumps(event, separators=(",", ":")))
    else:
        print(render_table(plan))
    if args.preview:
        return 0
    return _publish(plan, at, set_by, args.override_locks, settings, projections)


def _publish(
    plan: Plan,
    at: datetime,
    set_by: str,
    override: bool,
    settings: Settings,
    projections: LazyProjections,
) -> int:
    """Publish what is new of the plan, unless a lock refuses a child (module docstring)."""
    try:
        publication = prepare(plan, at, projections(), set_by)
        # Admitted as one, the way `produce` admits a line (producers/admission.py).
        guard = cli_guard(projections, set_by=set_by, override=override)
        admitted = Admission(settings, guard).as_one(publication.new)
        publication = publication.admitted(admitted.accepted, admitted.refusals())
    except ProjectionsUnavailable as exc:
        print(f"{_PROG}: cannot check target locks and earlier splits: {exc}", file=sys.stderr)
        return 2
    for refusal in publication.refusals:
        print(f"{_PROG}: {refusal.reason}", file=sys.stderr)
    print(publication.summary(), file=sys.stderr)
    if publication.refusals:
        return 1
    if not publication.new:
        return 0
    # Imported here: a preview must work without Kafka clients or a reachable broker.
    from infra.publisher import EventPublisher, PublishError

    try:
        with EventPublisher(settings, source="targets-split") as publisher:
            publisher.publish_many(publication.new)
    except PublishError as exc:
        # Publishing again is safe: the event_ids are deterministic and counted once.
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    print(f"published {len(publication.new)} TargetSet event(s)", file=sys.stderr)
    return 0
