"""`salespulse api [--host H] [--port P]`: run the HTTP API and the TV dashboard."""

from __future__ import annotations

import argparse
import os
import sys

from infra.settings import Settings, SettingsError

AUTH_FILE_VARIABLE = "SALESPULSE_AUTH_FILE"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="run the HTTP API and dashboard",
        description="Serve the HTTP API (OpenAPI at /openapi.json) and the dashboard at /. "
        f"Bearer tokens come from the TOML file named by {AUTH_FILE_VARIABLE}; without it "
        "the API runs in open local mode and binds to loopback only.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: FastAPI and uvicorn load only for this command, not for every CLI call.
    from salespulse.api.auth import AuthFileError, TokenBook
    from salespulse.api.server import build_app, is_loopback, serve

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"salespulse api: {exc}", file=sys.stderr)
        return 2
    auth_file = os.environ.get(AUTH_FILE_VARIABLE, "").strip()
    tokens = None
    if auth_file:
        try:
            tokens = TokenBook.load(auth_file)
        except AuthFileError as exc:
            print(f"salespulse api: {AUTH_FILE_VARIABLE}: {exc}", file=sys.stderr)
            return 2
    if tokens is None and not is_loopback(args.host):
        print(
            f"salespulse api: refusing to bind {args.host}: without {AUTH_FILE_VARIABLE} the "
            "API runs in open local mode (every caller is an admin), which binds to loopback "
            "only. Set an auth file, or use --host 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if tokens is None:
        print(
            f"salespulse api: open local mode (no {AUTH_FILE_VARIABLE}): every request is "
            f"treated as an admin; listening on {args.host} only",
            file=sys.stderr,
        )
    else:
        print(f"salespulse api: {len(tokens)} token(s) from {auth_file}", file=sys.stderr)
    url_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"salespulse api: dashboard at http://{url_host}:{args.port}/", file=sys.stderr)
    serve(build_app(settings, tokens), args.host, args.port)
    return 0
