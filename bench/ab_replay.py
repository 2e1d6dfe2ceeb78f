"""Interleaved A/B of the replay between source trees, on the bench topic already published.

Each pair runs `salespulse replay --processes 2` from every tree (the order alternates), each
into fresh schemas dropped afterwards, then the ceiling (bench_replay.ceiling). Prints per run:
wall, events/s, the replay's CPU (wait4, its processes included) and the CPU PostgreSQL and
the Kafka broker spent meanwhile (benchlib.servers_cpu_s); at the end, whether every run
built the same tables (bench_replay.checksum).

  git worktree add /tmp/before <commit>
  PYTHONPATH=bench .venv/bin/python bench/ab_replay.py --pairs 2 [--memory 16M] /tmp/before .
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import benchlib as bl
from bench_replay import ceiling, run_replay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--memory", default="", help="the replay's --memory, e.g. 16M")
    parser.add_argument("trees", nargs="+", type=Path)
    args = parser.parse_args()
    s = bl.settings()
    ends = bl.end_offsets(s)
    total = sum(ends.values())
    checksums: set[str] = set()
    for k in range(args.pairs):
        for tree in args.trees if k % 2 == 0 else args.trees[::-1]:
            os.chdir(tree.resolve())  # `python -m salespulse.cli` imports from the tree
            tag = f"ab{time.time_ns()}"
            r = run_replay(s, tag, 2, total, args.memory)
            checksums.add(repr(sorted(r["checksum"].items())))
            bl.drop_schemas(s.database_url, f"{s.schema_prefix}_{tag}")
            print(
                f"{tree}: wall {r['wall_s']} s, {r['events_per_s']:,} events/s, CPU "
                f"{r['cpu_s']} s + PostgreSQL {r['postgres_cpu_s']} s + Kafka "
                f"{r['kafka_cpu_s']} s; {r['summary'][-58:]}",
                flush=True,
            )
        decoded = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True)
        trusted = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True, trusted_only=True)
        print(
            f"ceiling (bulk reader, one process): + the build's decode {decoded:,.0f}/s, "
            f"+ decode_trusted of each value {trusted:,.0f}/s",
            flush=True,
        )
    # Trees that fold differently build different tables: an A/B of two such is no A/B.
    print(f"same tables in every run: {len(checksums) == 1}")


if __name__ == "__main__":
    main()
