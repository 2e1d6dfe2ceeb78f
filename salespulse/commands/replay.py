"""`salespulse replay --kpis FILE [--preview] [--switch]`: rebuild history under revised KPIs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import psycopg
from tqdm import tqdm

from infra.settings import Settings
from projections.model.kpi import KpiError, parse_kpis
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import VersionConflict, activate_version, active_version
from projections.queries.preview import PeriodDiff, ScopeDiff, compare_periods, compare_scopes
from salespulse.runtime import ensure_active_version, open_store
from streams.bulk_build import DEFAULT_MEMORY
from streams.replay import DEFAULT_BATCH_SIZE, DEFAULT_WITHIN_S, ReplayError, replay

PREVIEW_ROWS = 40


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="build a projection version under revised KPI definitions from offset 0",
        description="Registers the version of FILE, builds it from the start of the log beside "
        "the active one (resuming from its own offsets if interrupted) and marks it ready, "
        "after which the live workers keep it current. Readers keep seeing the active version "
        "until --switch (or `salespulse kpi-versions activate N`). A replay announces nothing.",
    )
    parser.add_argument("--kpis", type=Path, required=True, help="the revised KPI definitions")
    parser.add_argument("--preview", action="store_true", help="print the differences")
    parser.add_argument("--json", action="store_true", help="the preview as JSON lines")
    parser.add_argument("--switch", action="store_true", help="activate it once caught up")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH_SIZE,
        help=f"events per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--memory",
        type=_size,
        default=DEFAULT_MEMORY,
        help="in-memory state per process before partial aggregates are flushed to staging, "
        "e.g. 256M, 16M, 1G (default 256M)",
    )
    parser.add_argument(
        "--within",
        type=float,
        default=DEFAULT_WITHIN_S,
        metavar="SECONDS",
        help="ready (and --preview / --switch act) once caught up to within this many seconds "
        f"of the log's head, which live traffic keeps moving (default {DEFAULT_WITHIN_S:g})",
    )
    parser.add_argument(
        "--processes",
        type=_positive,
        default=os.cpu_count() or 1,
        help="replay processes, each taking a share of the partitions (default: the number "
        "of CPUs, here %(default)s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        kpis = parse_kpis(args.kpis.read_text(encoding="utf-8"), str(args.kpis))
    except (OSError, KpiError) as exc:
        print(f"salespulse replay: {exc}", file=sys.stderr)
        return 2
    ensure_active_version(settings)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        active = active_version(conn, settings.schema_prefix)
    try:
        store = open_store(settings, args.kpis)
    except VersionConflict as exc:
        print(f"salespulse replay: {exc}", file=sys.stderr)
        return 2
    with store, _bar(args.no_progress, kpis.version) as bar:
        shown = [""]

        def progress(phase: str, done: int, total: int) -> None:
            if shown[0] != phase:  # read (events), merge (steps), catch-up (events)
                shown[0] = phase
                bar.set_description_str(f"replay v{kpis.version} {phase}", refresh=False)
                bar.unit = "step" if phase == "merge" else "ev"
                bar.unit_scale = phase != "merge"
                bar.reset(total)
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = replay(
                store, settings.kafka_bootstrap, settings.events_topic, progress,
                args.batch_size, args.processes, args.memory, args.within,
            )  # fmt: skip
        except ReplayError as exc:
            print(f"salespulse replay: {exc}; run it again to resume", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            bar.close()
            print("\nsalespulse replay: interrupted; run it again to resume", file=sys.stderr)
            return 130
    print(
        f"version {result.version} ({result.schema}): {result.status}; "
        f"{result.records} records read, {result.applied} events applied by this run ("
        + ", ".join(f"{phase} {s:.1f} s" for phase, s in result.seconds.items())
        + ")",
        file=sys.stderr,
    )
    if args.preview and active is not None and active.version != kpis.version:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            old = PostgresReadModel(conn, active.schema_name)
            new = PostgresReadModel(conn, result.schema)
            old_kpis = parse_kpis(active.kpis_toml)
            diffs = compare_scopes(old, old_kpis, new, kpis)
            moved = compare_periods(old, old_kpis, new, kpis)
        _print_preview(diffs, active.version, kpis.version, args.json)
        _print_periods(moved, active.version, kpis.version, args.json)
    if args.switch:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            activate_version(conn, kpis.version, settings.schema_prefix)
        print(f"version {kpis.version} is now active", file=sys.stderr)
    return 0


def _size(text: str) -> int:
    """Bytes from 256M, 16MiB, 1G, 4096 (binary units)."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in units else ""
    try:
        value = int(float(t.removesuffix(unit)) * units[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256M)") from None
    if value < 1024 * 1024:
        raise argparse.ArgumentTypeError(f"at least 1M, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _bar(disabled: bool, version: int) -> tqdm:
    tqdm.monitor_interval = 0  # no monitor thread: the replay forks its processes
    return tqdm(
        desc=f"replay v{version}", unit="ev", unit_scale=True, disable=disabled, file=sys.stderr,
        dynamic_ncols=True,
    )  # fmt: skip


def _print_preview(diffs: list[ScopeDiff], old: int, new: int, as_json: bool) -> None:
    if as_json:
        for d in diffs:
            line = {
                "scope": d.scope, "metric": d.metric,
                f"v{old}": _s(d.active), f"v{new}": _s(d.candidate),
                "difference": _s(d.difference), "change": _s(d.change),
            }  # fmt: skip
            print(json.dumps(line))
        return
    header = ("scope", "metric", f"v{old}", f"v{new}", "difference", "change")
    rows: list[tuple[str, ...]] = [
        (d.scope, d.metric, _t(d.active), _t(d.candidate), _t(d.difference), _pct(d.change))
        for d in diffs[:PREVIEW_ROWS]
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if len(diffs) > PREVIEW_ROWS:
        print(f"... {len(diffs) - PREVIEW_ROWS} more changed rows (--json lists all)")
    if not diffs:
        print("no differences")


def _print_periods(moved: list[PeriodDiff], old: int, new: int, as_json: bool) -> None:
    """Company totals per month that differ: where a corrections policy moves amounts."""
    if as_json:
        for d in moved:
            line = {
                "period": d.period, "metric": d.metric, f"v{old}": _s(d.active),
                f"v{new}": _s(d.candidate), "difference": _s(d.difference),
            }  # fmt: skip
            print(json.dumps(line))
        return
    if not moved:
        return
    print("\ncompany, per month:")
    header = ("period", "metric", f"v{old}", f"v{new}", "difference")
    rows = [(d.period, d.metric, _t(d.active), _t(d.candidate), _t(d.difference)) for d in moved]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _s(value: object) -> str | None:
    from decimal import Decimal

    from projections.queries.numbers import plain

    return plain(value) if isinstance(value, Decimal) else None


def _t(value: object) -> str:
    return _s(value) or "-"


def _pct(value: object) -> str:
    from decimal import Decimal

    return f"{value * 100:+.1f}%" if isinstance(value, Decimal) else "new"
