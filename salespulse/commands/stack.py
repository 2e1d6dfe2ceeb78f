"""`salespulse stack up | down | status`: the local Kafka + PostgreSQL, idempotent."""

from __future__ import annotations

import argparse
import sys

from salespulse.stack.config import StackConfig
from salespulse.stack.kafka import LocalKafka
from salespulse.stack.postgres import LocalPostgres, redact
from salespulse.stack.process import StackError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="start, stop or inspect the local Kafka + PostgreSQL",
        description="The local stack: Kafka 3.9 (KRaft) from Maven Central jars and a "
        "PostgreSQL cluster, on 127.0.0.1 under the state folder (SALESPULSE_STATE_DIR). "
        "With KAFKA_BOOTSTRAP / DATABASE_URL set, those servers are used and nothing starts.",
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = StackConfig.from_env()
    kafka, postgres = LocalKafka(config), LocalPostgres(config)
    try:
        if args.action == "up":
            print(postgres.up(), flush=True)
            print(kafka.up(), flush=True)
            print(f"KAFKA_BOOTSTRAP={config.kafka_bootstrap}")
            print(f"DATABASE_URL={redact(config.database_url)}")
            return 0
        if args.action == "down":
            # Kafka first: workers may still be flushing offsets to PostgreSQL.
            print(kafka.down(), flush=True)
            print(postgres.down(), flush=True)
            return 0
        return _print_status(kafka, postgres)
    except StackError as exc:
        print(f"salespulse stack {args.action}: {exc}", file=sys.stderr)
        return 2


def _print_status(kafka: LocalKafka, postgres: LocalPostgres) -> int:
    rows = []
    for name, st in (("kafka", kafka.status()), ("postgres", postgres.status())):
        rows.append(
            (
                name,
                st.version,
                st.address,
                str(st.pid or "-"),
                str(st.data_dir),
                "healthy" if st.healthy else ("down" if not st.external else "unreachable"),
            )
        )
    header = ("service", "version", "address", "pid", "data", "state")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if all(r[-1] == "healthy" for r in rows) else 1
