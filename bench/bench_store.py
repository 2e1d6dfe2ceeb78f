"""Measure PostgresProjectionStore.apply_batch throughput (events/s) on generated histories.

Usage: .venv/bin/python bench/bench_store.py [--reps 200] [--days 90] [--batch 5000]
The database is DATABASE_URL, or the local stack's (`salespulse stack up`). A throwaway
schema is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from decimal import Decimal

import psycopg

from projections.batch import plan_batch
from projections.context import FoldContext
from projections.kpi import default_kpis
from projections.sample import random_history
from projections.store import PostgresProjectionStore


def database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    from salespulse.stack.config import StackConfig

    return StackConfig.from_env().database_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()

    ctx = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.08")})
    t0 = time.perf_counter()
    events = random_history(1, reps=args.reps, days=args.days, per_day=args.per_day)
    print(f"generated {len(events):,} events in {time.perf_counter() - t0:.1f}s")
    records = [(i % args.partitions, i // args.partitions, e) for i, e in enumerate(events)]
    batches = [records[i : i + args.batch] for i in range(0, len(records), args.batch)]

    t0 = time.perf_counter()
    for batch in batches:
        plan_batch(batch, {}, ctx)
    fold_s = time.perf_counter() - t0
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
                f"({len(batches)} batches of {args.batch}, {first_s:.1f}s)"
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
