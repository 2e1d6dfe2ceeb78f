"""`salespulse kpi-versions list | activate N | retire N`: the projection versions."""

from __future__ import annotations

import argparse
import sys

import psycopg

from infra.settings import Settings
from projections.postgres.registry import (
    VersionConflict,
    activate_version,
    ensure_registry,
    list_versions,
    retire_version,
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "kpi-versions",
        help="list, activate or retire projection versions",
        description="activate N: readers move to version N in one transaction (the previous "
        "active version is retired but keeps its tables); retire N: drop a version's tables.",
    )
    parser.add_argument("action", choices=["list", "activate", "retire"])
    parser.add_argument("version", type=int, nargs="?")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.action != "list" and args.version is None:
        print(f"salespulse kpi-versions {args.action}: give a version number", file=sys.stderr)
        return 2
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        ensure_registry(conn, settings.schema_prefix)
        try:
            if args.action == "activate":
                activate_version(conn, args.version, settings.schema_prefix)
                print(f"version {args.version} is now active")
            elif args.action == "retire":
                schema = retire_version(conn, args.version, settings.schema_prefix)
                print(f"version {args.version} retired; dropped schema {schema}")
        except VersionConflict as exc:
            print(f"salespulse kpi-versions: {exc}", file=sys.stderr)
            return 2
        for v in list_versions(conn, settings.schema_prefix):
            created = f"{v.created_at:%Y-%m-%d %H:%M}"
            print(f"v{v.version}  {v.status:<8}  {v.schema_name}  created {created}")
    return 0
