"""How much of the replay's per-event CPU is CPython's? A native prototype, measured (#14).

The bulk build (streams/bulk_build.py) decodes and folds every record in Python. Most of a
log are activity-only events (calls, visits, leads, qualifications: 83 % of the bench
history), whose fold is one activity count and a few count metrics. This bench compiles a
small C reader for exactly those records (bench/native/scan.c: a batch per call, one tuple
of the fields the fold reads per record) and folds its rows column-wise with C-level builtins
(`zip`, `map`, `Counter`, one sort per type) instead of one Python call chain per event.

It times, on the same records, in one process with the collector paused as in a replay:

  python   BulkBuild.add over the activity-only records (decode_activity + fold_activity)
  native   scan() + the column-wise fold into an Aggregate (nothing flushed in either)
  decode   decode_activity per record, against scan() alone

and checks that both give the same activity and metric cells (repr, Decimal exponents and
reached-at offsets included) — else it exits 1. Nothing here is used by the product: the
prototype leaves out what a landed path needs (a fall-back when no compiler is present, the
ids already flushed, an id on two partitions, sum metrics on activity types).

  PYTHONPATH=bench .venv/bin/python bench/bench_native.py [--rounds 3] [--values /tmp/raw.pkl]

End to end, bench/native/replay_native.patch applies the prototype to a worktree's
BulkBuild.add (bench/README.md, "Replay: the activity path in C, a prototype").

Without --values it reads partitions 0, 2, 4 of the bench topic (`bench_publish.py` first).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import operator
import pickle
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from decimal import Decimal
from itertools import compress, repeat
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from projections.model.aggregate import Aggregate  # noqa: E402
from projections.model.context import FoldContext  # noqa: E402
from projections.model.fold import _COMPARE, _HOUR_US, _ONE, ACTIVITY_ONLY, LocalDays  # noqa: E402
from projections.model.kpi import load_kpis  # noqa: E402
from schemas.codec import envelope_physical, offset_tz  # noqa: E402
from schemas.registry import default_registry  # noqa: E402
from schemas.trusted import _instant, decode_activity  # noqa: E402
from streams.bulk_build import ACTIVITY_TYPES, BulkBuild  # noqa: E402

REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"
ENVELOPE_OPS = {
    "event_id": "U",
    "occurred_at": "L",
    "occurred_at_offset_min": "I",
    "rep_id": "N",
    "recorded_at": "m",
    "source": "n",
    "schema_version": "i",
}
DATA_AT = 6  # row: type index, record index, id, us, offset, rep_id, then the data fields


def build_module(out: Path) -> Any:
    """Compile scan.c into `out` with the interpreter's own headers and flags."""
    target = out / f"salespulse_scan{sysconfig.get_config_var('EXT_SUFFIX')}"
    if not target.exists():
        subprocess.run(
            [
                "gcc",
                "-O2",
                "-shared",
                "-fPIC",
                f"-I{sysconfig.get_paths()['include']}",
                str(ROOT / "bench" / "native" / "scan.c"),
                "-o",
                str(target),
            ],
            check=True,
        )
    spec = importlib.util.spec_from_file_location("salespulse_scan", target)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _field_op(avro: Any) -> tuple[str, tuple[str, ...] | None]:
    if avro == "string":
        return "S", None
    if avro in ("long", "int"):
        return "L", None
    if avro == "boolean":
        return "B", None
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return "E", tuple(sys.intern(s) for s in avro["symbols"])
    if avro == ["null", "string"]:
        return "N", None
    if avro == ["null", "long"]:
        return "M", None
    raise NotImplementedError(f"no op for {avro!r}")


def programs() -> tuple[
    dict[bytes, tuple[int, bytes, tuple[Any, ...]]], list[str], dict[str, list[str]]
]:
    """Per writer fingerprint of an activity type: (type index, ops, enum symbols)."""
    registry = default_registry()
    types = sorted(ACTIVITY_TYPES)
    fields: dict[str, list[str]] = {}
    out = {}
    for fp, sv in registry.by_fingerprint.items():
        if sv.type not in ACTIVITY_TYPES:
            continue
        latest = [f["name"] for f in _data(registry.latest(sv.type))["type"]["fields"]]
        fields[sv.type] = latest
        ops, enums = [], []
        for f in envelope_physical(sv)["fields"]:
            if f["name"] != "data":
                ops.append(ENVELOPE_OPS[f["name"]])
        written = _data(sv)["type"]["fields"]
        assert [f["name"] for f in written] == latest[: len(written)], sv
        for f in written:
            op, symbols = _field_op(f["type"])
            ops.append(op)
            if symbols is not None:
                enums.append(symbols)
        ops += "0" * (len(latest) - len(written))  # added later, null by default
        out[fp] = (types.index(sv.type), "".join(ops).encode(), tuple(enums))
    return out, types, fields


def _data(sv: Any) -> dict[str, Any]:
    return next(f for f in sv.schema["fields"] if f["name"] == "data")


class NativeFold:
    """scan() rows folded column-wise into an Aggregate: the same cells as fold_activity."""

    def __init__(self, scan: Any, ctx: FoldContext, days: LocalDays | None = None) -> None:
        self.scan, self.ctx = scan, ctx
        self.programs, self.types, self.fields = programs()
        self.days = days or LocalDays(ctx.tz)
        self.seen: set[int] = set()
        self.aggregate = Aggregate()
        self.metrics = {t: self._metrics(t) for t in self.types}

    def _metrics(self, type_: str) -> list[tuple[str, list[tuple[int, Any, Any]], list[Any]]]:
        out = []
        index = {name: DATA_AT + i for i, name in enumerate(self.fields[type_])}
        for m in self.ctx.kpis.by_event.get(type_, ()):
            if m.field is not None:
                raise NotImplementedError(f"{m.name}: a sum metric on an activity type")
            tests = [(index[c.field], _COMPARE[c.op], c.value) for c in m.where]
            weights = [
                (index[w.condition.field], _COMPARE[w.condition.op], w.condition.value, w.factor)
                for w in m.weights
            ]
            out.append((m.name, tests, weights))
        return out

    def add(self, values: list[bytes]) -> list[int]:
        """Fold the activity records of `values`; returns the indices of the others."""
        rows, others = self.scan(values, self.programs)
        ids = [r[2] for r in rows]
        first = dict(
            zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True)
        )  # id -> its first row
        again = self.seen.intersection(first)
        if len(first) != len(ids) or again:  # a repeat in this batch or of an earlier one
            keep = set(first.values())
            rows = [r for i, r in enumerate(rows) if i in keep and r[2] not in again]
        self.seen.update(first)
        self.fold_rows(rows)
        return others

    def fold_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Fold scan() rows already de-duplicated into self.aggregate."""
        for t, type_ in enumerate(self.types):
            of_type = [r for r in rows if r[0] == t]
            if of_type:
                self._fold_type(type_, of_type)

    def _fold_type(self, type_: str, rows: list[tuple[Any, ...]]) -> None:
        # In time order, ties in reverse arrival: a dict built from them keeps per key the
        # latest instant, first arrived among equals (what `at > cell[1]` keeps).
        rows.reverse()
        rows.sort(key=operator.itemgetter(3))
        cols = list(zip(*rows, strict=True))
        us, offsets = cols[3], cols[4]
        reps = cols[5] if None not in cols[5] else [r or "" for r in cols[5]]
        keys = list(zip(reps, self._days(us), strict=True))  # (rep, day) per row
        ats = list(zip(us, offsets, strict=True))
        activity, subkind = ACTIVITY_ONLY[type_]
        sub = cols[DATA_AT + self.fields[type_].index(subkind)]
        cells = self.aggregate.activities
        for ((rep, day), s), n in Counter(zip(keys, sub, strict=True)).items():
            cell = cells.get((rep, day, activity, s))
            if cell is None:
                cells[(rep, day, activity, s)] = [n, Decimal(0)]
            else:
                cell[0] += n
        everything: tuple[Counter[Any], dict[Any, Any]] | None = None
        for name, tests, weights in self.metrics[type_]:
            mask: Any = None
            for col, op, value in tests:
                column = cols[col]
                hit = (
                    list(map(op, column, repeat(value)))
                    if None not in column
                    else [v is not None and op(v, value) for v in column]
                )
                mask = hit if mask is None else list(map(operator.and_, mask, hit))
            chosen_keys = keys if mask is None else list(compress(keys, mask))
            if weights:
                factors = list(
                    zip(
                        *[map(op, cols[col], repeat(value)) for col, op, value, _ in weights],
                        strict=True,
                    )
                )
                units = {w: _unit(w, weights) for w in set(factors)}
                chosen = Counter(
                    zip(
                        chosen_keys,
                        factors if mask is None else compress(factors, mask),
                        strict=True,
                    )
                )
                last = dict(
                    zip(chosen_keys, ats if mask is None else compress(ats, mask), strict=True)
                )
            elif mask is None:
                if everything is None:
                    everything = Counter(keys), dict(zip(keys, ats, strict=True))
                counts, last = everything
                units, chosen = {(): _ONE}, {(k, ()): n for k, n in counts.items()}
            else:
                units = {(): _ONE}
                chosen = {(k, ()): n for k, n in Counter(chosen_keys).items()}
                last = dict(zip(chosen_keys, compress(ats, mask), strict=True))
            sums: dict[tuple[str, Any], Decimal] = {}
            for (key, w), n in chosen.items():
                value = units[w] * n
                if value:
                    sums[key] = sums[key] + value if key in sums else value
            add = self.aggregate._add_metrics  # noqa: SLF001  (fold_activity's own cell merge)
            for (rep, day), value in sums.items():
                t_us, off = last[(rep, day)]
                add([(name, value)], rep, day, _instant(t_us, offset_tz(off)))

    def _days(self, us: tuple[int, ...]) -> list[Any]:
        hours = list(map(operator.floordiv, us, repeat(_HOUR_US)))
        known = self.days.hours
        for hour in set(hours).difference(known):
            self.days(hour * _HOUR_US)
        days = list(map(known.__getitem__, hours))
        if None in days:  # an hour holding a local midnight: instant by instant
            days = [d if d is not None else self.days(u) for d, u in zip(days, us, strict=True)]
        return days


def _unit(matched: tuple[bool, ...], weights: list[Any]) -> Decimal:
    value = _ONE
    for hit, (_, _, _, factor) in zip(matched, weights, strict=True):
        if hit:
            value *= factor
    return value


def cells(aggregate: Aggregate) -> str:
    return repr(sorted(aggregate.activities.items())) + repr(sorted(aggregate.metrics.items()))


def load_values(path: str | None) -> list[tuple[int, int, bytes | None]]:
    """The records of partitions 0, 2 and 4 of the bench topic (or of a pickle of them)."""
    if path:
        with open(path, "rb") as f:
            return pickle.load(f)  # type: ignore[no-any-return]
    import benchlib as bl

    from streams.bulk_reader import read_raw_ranges

    s = bl.settings()
    ends = {p: e for p, e in bl.end_offsets(s).items() if p in (0, 2, 4)}
    batches = read_raw_ranges(s.kafka_bootstrap, s.events_topic, {}, ends, 20_000)
    return [record for batch in batches for record in batch]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--values", help="a pickle of (partition, offset, value) records")
    parser.add_argument(
        "--compile-into",
        type=Path,
        help="only compile scan.c into this folder (a patched tree's bench/native/build, "
        "before its replay forks two processes that would both compile it)",
    )
    args = parser.parse_args()
    if args.compile_into:
        args.compile_into.mkdir(parents=True, exist_ok=True)
        build_module(args.compile_into)
        return 0
    ctx = FoldContext(load_kpis(REVISED))
    with tempfile.TemporaryDirectory() as tmp:
        scan = build_module(Path(tmp)).scan
    records = load_values(args.values)
    fps = set(programs()[0])
    activity = [r for r in records if r[2] is not None and r[2][2:10] in fps]
    values = [v for _, _, v in activity]
    batches = [activity[i : i + 20_000] for i in range(0, len(activity), 20_000)]
    print(f"{len(activity):,} activity-only records of {len(records):,}")

    gc.collect()
    gc.freeze()
    gc.disable()
    results: dict[str, list[float]] = {k: [] for k in ("python", "native", "decode", "scan")}
    for _ in range(args.rounds):
        build = BulkBuild(ctx, None, 1 << 40)  # type: ignore[arg-type]  # never flushed
        t0 = time.process_time()
        for batch in batches:
            build.add(batch)
        t1 = time.process_time()
        native = NativeFold(scan, ctx)
        for batch in batches:
            assert not native.add([v for _, _, v in batch])
        t2 = time.process_time()
        for v in values:
            decode_activity(v, ACTIVITY_TYPES)
        t3 = time.process_time()
        for i in range(0, len(values), 20_000):
            scan(values[i : i + 20_000], native.programs)
        t4 = time.process_time()
        for key, dt in zip(results, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            results[key].append(dt / len(activity) * 1e6)
        same = cells(build.segment.aggregate) == cells(native.aggregate)
        print(
            "  round: "
            + ", ".join(f"{k} {v[-1]:.2f}" for k, v in results.items())
            + f" us/record; same cells: {same}"
        )
        if not same:
            return 1
    best = {k: min(v) for k, v in results.items()}
    print(
        f"best of {args.rounds}: python {best['python']:.2f}, native {best['native']:.2f} "
        f"us/record ({best['python'] / best['native']:.1f}x); decode_activity "
        f"{best['decode']:.2f} vs scan {best['scan']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
