"""`salespulse ...` under cProfile, for the benchmarks only: SALESPULSE_BENCH_PROFILE=<prefix>.

  SALESPULSE_BENCH_PROFILE=/tmp/w .venv/bin/python bench/profiled_worker.py worker

cProfile sees one thread, and the worker applies batches in a thread (asyncio.to_thread), so
two profiles are written at exit: <prefix>-main.pstats (the event loop: Kafka client, faust,
decoding) and <prefix>-apply.pstats (PostgresProjectionStore.apply_batch: fold, PostgreSQL).
Without the variable it runs the command unprofiled. Nothing outside bench/ is changed: the
wrapping happens here, at start-up, on the class.
"""

from __future__ import annotations

import atexit
import cProfile
import functools
import os
import sys
import time
from typing import Any


def main() -> int:
    prefix = os.environ.get("SALESPULSE_BENCH_PROFILE")
    from salespulse.cli import main as cli_main

    if not prefix:
        return cli_main(sys.argv[1:])

    from projections.postgres.store import PostgresProjectionStore

    main_profile, apply_profile = cProfile.Profile(), cProfile.Profile()
    calls = {"batches": 0, "records": 0, "seconds": 0.0}
    apply_batch = PostgresProjectionStore.apply_batch

    @functools.wraps(apply_batch)
    def profiled_apply(self: PostgresProjectionStore, records: Any, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        apply_profile.enable()  # in the calling (executor) thread only
        try:
            return apply_batch(self, records, *args, **kw)
        finally:
            apply_profile.disable()
            calls["batches"] += 1
            calls["records"] += len(records)
            calls["seconds"] += time.perf_counter() - t0

    PostgresProjectionStore.apply_batch = profiled_apply  # type: ignore[method-assign]
    started = time.perf_counter()

    def dump() -> None:
        main_profile.disable()
        main_profile.dump_stats(f"{prefix}-main.pstats")
        apply_profile.dump_stats(f"{prefix}-apply.pstats")
        with open(f"{prefix}-apply.txt", "w") as f:
            f.write(
                f"{calls['batches']} {calls['records']} {calls['seconds']:.3f} "
                f"{time.perf_counter() - started:.3f}\n"
            )

    atexit.register(dump)
    main_profile.enable()
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
