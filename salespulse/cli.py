"""The `salespulse` command: one subcommand per module in `salespulse.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from infra.settings import Settings

# Each module exposes add_parser(subparsers); imported lazily by name so that a missing
# optional piece never breaks the other commands.
COMMANDS = (
    "stack",
    "produce",
    "simulate",
    "worker",
    "wait_idle",
    "targets",
    "demo",
    "replay",
    "kpi_versions",
    "api",
    "notify",
    "import_csv",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salespulse",
        description="SalesPulse: event-sourced sales performance management.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"salespulse.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"salespulse.commands.{name}":
                continue  # not built yet
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # libpq reads this for every connection any command opens (psycopg, pools, LISTEN): a
    # database that is down is reported in seconds, never after the OS's TCP timeout.
    os.environ.setdefault(
        "PGCONNECT_TIMEOUT",
        os.environ.get("SALESPULSE_PG_CONNECT_TIMEOUT_S", str(Settings.pg_connect_timeout_s)),
    )
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
