"""`salespulse targets split`: decompose a target across time or down the org into TargetSets."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from projections.decomposition import DecompositionError, Plan, Presence, SplitRequest, decompose
from projections.decomposition.request import TIME_INTO
from projections.decomposition.rounding import Quantity
from projections.decomposition.source import org_children, reference_shares
from projections.kpi import KpiDefinitions, KpiError, default_kpis, load_kpis
from projections.readmodel import ReadModel
from salespulse.settings import Settings, SettingsError
from schemas.periods import PeriodError, parse_period

_PROG = "salespulse targets split"
_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
T = TypeVar("T")


class UsageError(ValueError):
    """Arguments that cannot make a request; exit status 2 with this message."""


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
        "decomposition_id and event_ids, so publishing it twice counts once.",
    )
    split.add_argument("--scope", required=True, help="company, unit:<id> or rep:<id>")
    split.add_argument("--metric", required=True, help="a KPI metric, e.g. revenue")
    split.add_argument("--period", required=True, help="2026, 2026-Q4, 2026-11, 2026-W45, ...")
    split.add_argument("--value", required=True, help="the parent target, e.g. 1000000")
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
    split.add_argument("--json", action="store_true", help="print TargetSet events as JSON lines")
    split.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        request = build_request(args, settings, _open_read_model(settings))
        plan = decompose(request)
        at = _parse(args.at, datetime.fromisoformat, "--at") if args.at else None
        at = at or datetime.now(ZoneInfo(settings.tz))
        events = plan.events(at)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "request"
            message = str(error["msg"]).removeprefix("Value error, ")
            print(f"{_PROG}: {where}: {message}", file=sys.stderr)
        return 2
    except (UsageError, DecompositionError, SettingsError, KpiError, PeriodError) as exc:
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
    return _publish(events, settings)


def _publish(events: list[dict[str, Any]], settings: Settings) -> int:
    # Imported here: a preview must work without Kafka clients or a reachable broker.
    from producers.publisher import EventPublisher, PublishError
    from schemas.events import parse_event

    try:
        with EventPublisher(settings, source="targets-split") as publisher:
            publisher.publish_many(parse_event(e) for e in events)
    except PublishError as exc:
        # Publishing again is safe: the event_ids are deterministic and counted once.
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 2
    print(f"published {len(events)} TargetSet event(s)", file=sys.stderr)
    return 0


def _open_read_model(settings: Settings) -> ReadModel | None:
    """The projections' read model, for the org tree and reference actuals; None if absent."""
    # projections/store.py (the PostgreSQL read model) is not there yet: until it is, splits
    # down the organisation take --children, --shares, --joined and --left explicitly.
    return None


def build_request(
    args: argparse.Namespace, settings: Settings, read_model: ReadModel | None
) -> SplitRequest:
    """The SplitRequest the arguments describe, reading the org from the read model if given."""
    org = args.into in ("children", "reps")
    if not org and (args.children or args.shares or args.prorate or args.joined or args.left):
        raise UsageError(
            "--children, --shares, --prorate, --joined and --left need --into children or reps"
        )
    children = [_as_scope(c, args.into) for c in _items(args.children)]
    presence = _presence(args) if org else {}
    if org and not children:
        if read_model is None:
            raise UsageError(
                f"--children is required for --into {args.into}: the org tree "
                "cannot be read from the projections store yet"
            )
        children, found = org_children(read_model, args.scope, args.into, parse_period(args.period))
        presence = {**(found if args.prorate else {}), **presence}
    shares = {_as_scope(k, args.into): v for k, v in _pairs(args.shares, Decimal).items()}
    if org and args.by == "share" and not shares:
        shares = _reference_shares(args, children, read_model)
    return SplitRequest(
        scope=args.scope,
        metric=args.metric,
        period=args.period,
        value=args.value,
        into=args.into,
        by=args.by,
        children=tuple(children),
        weights=tuple(_items(args.weights)),
        shares=shares,
        reference_period=args.reference_period,
        holidays=tuple(_parse(h, date.fromisoformat, "--holidays") for h in _items(args.holidays)),
        weekend=tuple(_weekday(d) for d in _items(args.weekend)),
        prorate=args.prorate,
        presence=presence,
        quantity=args.quantity or _quantity(args.metric, args.kpis),
        currency=(args.currency or settings.base_currency).upper(),
        decomposition_id=args.decomposition_id,
    )


def _reference_shares(
    args: argparse.Namespace, children: Sequence[str], read_model: ReadModel | None
) -> dict[str, Decimal]:
    if read_model is None:
        raise UsageError(
            "--by share needs --shares: reference actuals cannot be read from "
            "the projections store yet"
        )
    if not args.reference_period:
        raise UsageError("--by share needs --reference-period (or --shares)")
    reference = parse_period(args.reference_period)
    return reference_shares(read_model, args.metric, children, reference)


def _presence(args: argparse.Namespace) -> dict[str, tuple[Presence, ...]]:
    """--joined / --left as membership intervals; the left day itself no longer counts."""
    joined = {
        _as_scope(k, args.into): v for k, v in _pairs(args.joined, date.fromisoformat).items()
    }
    left = {_as_scope(k, args.into): v for k, v in _pairs(args.left, date.fromisoformat).items()}
    return {c: (Presence(joined.get(c), left.get(c)),) for c in sorted({*joined, *left})}


def _quantity(metric: str, kpis_file: str | None) -> Quantity:
    kpis: KpiDefinitions = load_kpis(kpis_file) if kpis_file else default_kpis()
    definition = kpis.metrics.get(metric)
    if definition is None:
        raise UsageError(f"unknown metric {metric!r}: give --quantity money or count (or --kpis)")
    # Money is rounded to the currency's minor unit; counts and other sums to whole numbers.
    return "money" if definition.is_money else "count"


def _as_scope(text: str, into: str) -> str:
    if ":" in text or text == "company":
        return text
    return f"{'unit' if into == 'children' else 'rep'}:{text}"


def _items(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _pairs(texts: str | Sequence[str] | None, convert: Callable[[str], T]) -> dict[str, T]:
    """`a=1,b=2` (or repeated `a=1`) as a dict, converting each value."""
    items = (
        _items(texts) if isinstance(texts, str | None) else [t for x in texts for t in _items(x)]
    )
    out: dict[str, T] = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise UsageError(f"expected ID=VALUE, got {item!r}")
        out[key.strip()] = _parse(value.strip(), convert, item)
    return out


def _parse(text: str, convert: Callable[[str], T], what: str) -> T:
    try:
        return convert(text)
    except (ValueError, ArithmeticError) as exc:
        raise UsageError(f"{what}: cannot read {text!r}: {exc}") from exc


def _weekday(text: str) -> int:
    day = _WEEKDAYS.get(text.lower()[:3]) if not text.isdigit() else int(text)
    if day is None:
        raise UsageError(f"--weekend: {text!r} is not a weekday (mon..sun or 1..7)")
    return day


def render_table(plan: Plan) -> str:
    """The split as an aligned text table with the total (and unallocated, when pro-rated)."""
    r = plan.request
    head = (
        f"decomposition {plan.decomposition_id}: {r.scope} {r.metric} {r.period} = {r.value} "
        f"{r.currency if r.quantity == 'money' else '(count)'} into {r.into}, by {r.by}"
    )
    rows = [("scope", "period", "share", "days", "value")]
    for a in plan.allocations:
        share = Decimal(a.share.numerator) / Decimal(a.share.denominator) * 100
        rows.append((a.scope, a.period, f"{share:.2f}%", str(a.days), str(a.value)))
    rows.append(("total", "", "", "", str(plan.total)))
    if r.prorate:
        rows.append(("unallocated", "", "", "", str(plan.unallocated)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    # Text columns left-aligned, numbers right-aligned so the decimal points line up.
    lines = [
        "  ".join(
            c.rjust(w) if i >= 2 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join([head, *lines])
