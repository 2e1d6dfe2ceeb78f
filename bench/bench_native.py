"""The replay's bulk build with the C reader and without it, on the same records (#14).

`BulkBuild.add` reads calls, visits and leads (most of a log) with schemas.native's C reader
and folds their rows a column at a time (projections.model.columns) when the reader is
compiled; `native=False` (or SALESPULSE_NATIVE=0) decodes and folds every record in Python.
This times both over the records of partitions 0, 2 and 4 of the bench topic, in one
process with the collector paused as in a replay, alternating the two in each round, and
hashes the whole in-memory build of each (every aggregate table, the ids per partition, the
offsets read, the counts): it exits 1 unless the hashes are equal.

  PYTHONPATH=bench .venv/bin/python bench/bench_native.py [--rounds 3] [--values raw.pkl]

Without --values it reads the bench topic (`bench_publish.py` first); --save-values keeps a
pickle of what it read for the next run.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from projections.model.context import FoldContext  # noqa: E402
from projections.model.kpi import load_kpis  # noqa: E402
from schemas import native  # noqa: E402
from streams.bulk_build import BulkBuild  # noqa: E402
from streams.bulk_reader import RawValue  # noqa: E402

REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"
BATCH = 20_000  # the replay's READ_BATCH


def load_values(path: str | None) -> list[RawValue]:
    """The records of partitions 0, 2 and 4 of the bench topic (or of a pickle of them)."""
    if path and Path(path).exists():
        with open(path, "rb") as f:
            return pickle.load(f)  # type: ignore[no-any-return]
    import benchlib as bl

    from streams.bulk_reader import read_raw_ranges

    s = bl.settings()
    ends = {p: e for p, e in bl.end_offsets(s).items() if p in (0, 2, 4)}
    batches = read_raw_ranges(s.kafka_bootstrap, s.events_topic, {}, ends, BATCH)
    return [record for batch in batches for record in batch]


def build_hash(build: BulkBuild) -> str:
    digest = hashlib.sha1()
    for name, table in sorted(vars(build.segment.aggregate).items()):
        rows = sorted(table.items()) if isinstance(table, dict) else sorted(table)
        digest.update(name.encode() + repr(rows).encode())
    digest.update(repr(sorted((p, sorted(s)) for p, s in build.segment.ids.items())).encode())
    digest.update(repr(sorted(build.segment.last.items())).encode())
    digest.update(repr(build.stats).encode())
    return digest.hexdigest()[:12]


def timed_build(ctx: FoldContext, records: list[RawValue], use_native: bool) -> tuple[float, str]:
    build = BulkBuild(ctx, None, 1 << 40, native=use_native)  # type: ignore[arg-type]  # never flushed
    started = time.process_time()
    for i in range(0, len(records), BATCH):
        build.add(records[i : i + BATCH])
    return (time.process_time() - started) / len(records) * 1e6, build_hash(build)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--values", help="a pickle of (partition, offset, value) records")
    parser.add_argument("--save-values", help="write what was read to this pickle")
    args = parser.parse_args()
    if not native.available():
        print("the C reader is not compiled (or SALESPULSE_NATIVE=0): nothing to compare")
        return 1
    records = load_values(args.values)
    if args.save_values:
        with open(args.save_values, "wb") as f:
            pickle.dump(records, f)
    ctx = FoldContext(load_kpis(REVISED))
    print(f"{len(records):,} records of partitions 0, 2, 4")
    gc.collect()
    gc.freeze()
    gc.disable()
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        hashes = {}
        for use_native in (False, True):
            us, hashes[use_native] = timed_build(ctx, records, use_native)
            times[use_native].append(us)
        same = hashes[False] == hashes[True]
        print(
            f"  round: python {times[False][-1]:.2f}, native {times[True][-1]:.2f} us/record; "
            f"build hashes {hashes[False]} {hashes[True]}: {'same' if same else 'DIFFERENT'}"
        )
        if not same:
            return 1
    py, nat = min(times[False]), min(times[True])
    print(f"best of {args.rounds}: python {py:.2f}, native {nat:.2f} us/record ({py / nat:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
