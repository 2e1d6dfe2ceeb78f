"""Measure PostgresProjectionStore.apply_batch throughput (events/s) on generated histories.

Usage: .venv/bin/python bench/bench_store.py [--batch 5000] [--reps R --days D --per-day N]
Without --reps it runs two workloads: "replay" (200 reps x 90 days, few events per rep-day:
about 1.7 upserted daily rows per event) and "live" (100 reps x 12 busy days: events of a
rep-day mostly update rows already written). The database is DATABASE_URL, or the local
stack's (`salespulse stack up`); a throwaway schema is created and dropped.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import uuid
from decimal import Decimal

import psycopg

from projections.model.batch import plan_batch
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.postgres.store import PostgresProjectionStore
from tests.support.sample import random_history


def database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    from salespulse.stack.config import StackConfig

    return StackConfig.from_env().database_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    if args.reps:
        run("custom", args.reps, args.days, args.per_day, args.batch, args.partitions)
    else:
        run("replay", 200, 90, 8, args.batch, args.partitions)
        run("live", 100, 12, 120, args.batch, args.partitions)


def run(name: str, reps: int, days: int, per_day: int, batch_size: int, partitions: int) -> None:
    ctx = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.08")})
    t0 = time.perf_counter()
    events = random_history(1, reps=reps, days=days, per_day=per_day)
    print(f"[{name}] {len(events):,} events generated in {time.perf_counter() - t0:.1f}s")
    records = [(i % partitions, i // partitions, e) for i, e in enumerate(events)]
    batches = [records[i : i + batch_size] for i in range(0, len(records), batch_size)]

    # The store pauses the garbage collector per batch; measure the fold the same way.
    gc.disable()
    t0 = time.perf_counter()
    for batch in batches:
        plan_batch(batch, {}, ctx)
    fold_s = time.perf_counter() - t0
    gc.enable()
    print(f"fold only:   {len(events) / fold_s:>10,.0f} events/s")

    url, prefix = database_url(), f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with PostgresProjectionStore(
            url, ctx, f"{prefix}_v1", registry_schema=f"{prefix}_reg"
        ) as store:
            store.migrate()
            t0 = time.perf_counter()
            for batch in batches:
                store.apply_batch(batch)
            first_s = time.perf_counter() - t0
            print(
                f"apply_batch: {len(events) / first_s:>10,.0f} events/s "
                f"({len(batches)} batches of {batch_size}, {first_s:.1f}s)"
            )
            # A full redelivery: every record is at or below its recorded offset.
            t0 = time.perf_counter()
            for batch in batches:
                store.apply_batch(batch)
            again = len(events) / (time.perf_counter() - t0)
            print(f"redelivery:  {again:>10,.0f} events/s (all skipped by offset)")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for (name,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
            ).fetchall():
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


if __name__ == "__main__":
    main()
