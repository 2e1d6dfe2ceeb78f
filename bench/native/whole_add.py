"""`BulkBuild.add` of one source tree over every record of partitions 0, 2, 4: µs a record and
a hash of the whole in-memory build (every aggregate table, the ids per partition, the
offsets, the stats). Run it for a tree and for the same tree with replay_native.patch applied:
the hashes must be equal (bench/README.md, "Replay: the activity path in C, a prototype").

  PYTHONPATH=bench .venv/bin/python bench/native/whole_add.py /tmp/before [--values raw.pkl]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree")
    parser.add_argument("--values", help="a pickle of (partition, offset, value) records")
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    from projections.model.context import FoldContext
    from projections.model.kpi import load_kpis
    from streams.bulk_build import BulkBuild

    # Imported after the tree's modules: bench_native puts this checkout first on the path.
    native = importlib.import_module("bench_native")

    records = native.load_values(args.values)
    ctx = FoldContext(load_kpis(native.REVISED))
    gc.collect()
    gc.freeze()
    gc.disable()
    build = BulkBuild(ctx, None, 1 << 40)  # type: ignore[arg-type]  # never flushed
    build.add(records[:10])  # the first call compiles or imports what it needs
    started = time.process_time()
    for i in range(10, len(records), 20_000):
        build.add(records[i : i + 20_000])
    us = (time.process_time() - started) / (len(records) - 10) * 1e6
    digest = hashlib.sha1()
    for name, table in sorted(vars(build.segment.aggregate).items()):
        rows = sorted(table.items()) if isinstance(table, dict) else sorted(table)
        digest.update(name.encode() + repr(rows).encode())
    digest.update(repr(sorted((p, sorted(s)) for p, s in build.segment.ids.items())).encode())
    digest.update(repr(sorted(build.segment.last.items())).encode())
    print(f"{args.tree}: {us:.2f} us/record, {build.stats}, build hash {digest.hexdigest()[:12]}")


if __name__ == "__main__":
    main()
