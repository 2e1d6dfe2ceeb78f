"""`targets split` arguments to a SplitRequest, and the plan as a table (see targets.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from infra.settings import Settings
from projections.model.kpi import KpiDefinitions, default_kpis, load_kpis
from projections.model.readmodel import ReadModel
from projections.targets.decomposition import Plan, Presence, SplitRequest
from projections.targets.decomposition.completion import CompletionError, complete
from salespulse.projection_reads import LazyProjections, ProjectionsUnavailable

_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
T = TypeVar("T")


class UsageError(ValueError):
    """Arguments that cannot make a request; exit status 2 with this message."""


def build_request(
    args: argparse.Namespace, settings: Settings, projections: LazyProjections
) -> SplitRequest:
    """The SplitRequest the arguments describe, completed from the projections as the HTTP
    API completes a posted one (projections/targets/decomposition/completion.py).

    Read only when needed: the children (no --children), their presence (with --prorate),
    the reference actuals (--by share without --shares), the quantity (no --quantity: from
    the metric in the active KPI version, or in --kpis) and the parent's value (no --value).
    """
    org = args.into in ("children", "reps")
    if not org and (args.children or args.shares or args.prorate or args.joined or args.left):
        raise UsageError(
            "--children, --shares, --prorate, --joined and --left need --into children or reps"
        )
    given = {
        "children": tuple(_as_scope(c, args.into) for c in _items(args.children)),
        "presence": _presence(args) if org else {},
        "shares": {_as_scope(k, args.into): v for k, v in _pairs(args.shares, Decimal).items()},
        "quantity": args.quantity,
        "currency": args.currency.upper() if args.currency else None,
        "decomposition_id": args.decomposition_id,
    }
    request = SplitRequest(
        scope=args.scope,
        metric=args.metric,
        period=args.period,
        value=args.value if args.value is not None else _parent_value(args, projections),
        into=args.into,
        by=args.by,
        weights=tuple(_items(args.weights)),
        reference_period=args.reference_period,
        holidays=tuple(parse(h, date.fromisoformat, "--holidays") for h in _items(args.holidays)),
        weekend=tuple(_weekday(d) for d in _items(args.weekend)),
        prorate=args.prorate,
        # Left out when not given, so that completion knows what to fill in.
        **{k: v for k, v in given.items() if v},
    )
    try:
        return complete(
            request,
            lambda: _reads(projections, _need(args.into)),
            lambda: _kpis(args.kpis, projections),
            settings.base_currency,
        )
    except CompletionError as exc:
        raise UsageError(f"{_flag_need(exc.field, args.into)}: {exc}") from exc


def _need(into: str) -> str:
    return f"--children is required for --into {into}"


def _flag_need(field: str, into: str) -> str:
    """The flag that would have supplied a field completion could not fill in."""
    if field == "children":
        return _need(into)
    if field == "quantity":
        return "give --quantity money or count (or --kpis)"
    return f"--{field.replace('_', '-')} is required"


def _kpis(kpis_file: str | None, projections: LazyProjections) -> KpiDefinitions:
    """--kpis when given, else the active version's (what readers see), else version 1."""
    if kpis_file:
        return load_kpis(kpis_file)
    try:
        view = projections.view()
    except ProjectionsUnavailable:
        view = None  # an offline preview: the default definitions say what the metrics are
    return view.kpis if view is not None else default_kpis()


def _reads(projections: LazyProjections, need: str) -> ReadModel:
    """The active read model, or a UsageError saying what to give instead."""
    try:
        read_model = projections()
    except ProjectionsUnavailable as exc:
        raise UsageError(f"{need}: {exc}") from exc
    if read_model is None:
        raise UsageError(f"{need}: no projection version is active yet (start a worker)")
    return read_model


def _parent_value(args: argparse.Namespace, projections: LazyProjections) -> str:
    """The parent's current target: what a split without --value decomposes."""
    need = "--value is required"
    found = _reads(projections, need).targets(args.scope, args.period, args.metric)
    if not found:
        raise UsageError(f"{need}: {args.scope} has no {args.metric} target for {args.period}")
    # Written plainly: the stored value carries the wire scale (100000.0000).
    return format(found[0].value.normalize(), "f")


def _presence(args: argparse.Namespace) -> dict[str, tuple[Presence, ...]]:
    """--joined / --left as membership intervals; the left day itself no longer counts."""
    joined = {
        _as_scope(k, args.into): v for k, v in _pairs(args.joined, date.fromisoformat).items()
    }
    left = {_as_scope(k, args.into): v for k, v in _pairs(args.left, date.fromisoformat).items()}
    return {c: (Presence(joined.get(c), left.get(c)),) for c in sorted({*joined, *left})}


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
        out[key.strip()] = parse(value.strip(), convert, item)
    return out


def parse(text: str, convert: Callable[[str], T], what: str) -> T:
    """`convert(text)`, or a UsageError naming the option."""
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
