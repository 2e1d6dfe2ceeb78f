"""The production wiring: PostgreSQL read side and broadcast log, Kafka publisher, uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from infra.publisher import EventPublisher
from infra.settings import Settings
from projections.broadcasts.deliveries import ChannelStatus, channel_status
from projections.broadcasts.log import BroadcastLog
from salespulse.api.app import create_app
from salespulse.api.auth import TokenBook
from salespulse.api.deps import ApiContext
from salespulse.api.health import DependencyProbe
from salespulse.api.pg import KafkaEndOffsets, PgOps, PgReadSide, pg_listener
from salespulse.api.readside import Publisher
from salespulse.api.sse import ChangeHub
from salespulse.api.versions import PgCandidates

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for names and addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # A database that is restarting is a temporary condition for the client, not a bug.
    log.warning("database error on %s: %s", request.url.path, exc)
    detail = {"parameter": None, "error": f"database unavailable: {type(exc).__name__}"}
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})


def build_app(
    settings: Settings,
    tokens: TokenBook | None,
    *,
    registry_schema: str | None = None,
    pool_size: int = 10,
    **options: Any,
) -> FastAPI:
    """The API over the PostgreSQL projections, the broadcast log and the Kafka event log.

    The registry of projection versions and the broadcast log live in one schema, by default
    the one the worker uses (SALESPULSE_SCHEMA_PREFIX: `sp`, beside `sp_v1`, `sp_v2`...).
    """
    registry_schema = registry_schema or settings.schema_prefix
    pool: ConnectionPool[Any] = ConnectionPool(
        settings.database_url,
        min_size=1,
        max_size=pool_size,
        kwargs={
            "autocommit": True,
            "connect_timeout": settings.pg_connect_timeout_s,
            # A query of a database in trouble is cancelled: 503 in seconds, not a hang.
            "options": f"-c statement_timeout={settings.api_statement_timeout_ms}",
        },
        # A request waits this long for a connection (psycopg_pool's default is 30 s: that
        # was every read's wait for its 503 while the database was down).
        timeout=settings.api_pool_timeout_s,
        # A connection the server dropped (a restart) is replaced, not handed to a request.
        check=ConnectionPool.check_connection,
        # Keep trying to reconnect for as long as the database is away.
        reconnect_timeout=24 * 3600,
        open=False,
        name="salespulse-api",
    )
    pool.open(wait=False)
    broadcasts = BroadcastLog(pool.connection, registry_schema)
    try:
        # So the API can start before any worker has run; the worker does the same.
        broadcasts.ensure_schema()
    except psycopg.Error as exc:
        log.warning("cannot create the broadcast log yet (%s); will read it when it exists", exc)
    end_offsets = KafkaEndOffsets(settings.kafka_bootstrap, settings.events_topic)
    probe = DependencyProbe(settings.database_url, settings.kafka_bootstrap)

    def notify_status() -> list[ChannelStatus]:
        with pool.connection() as conn:
            return channel_status(conn, registry_schema)

    def publisher() -> Publisher:
        return EventPublisher(settings, source="http-api")

    app = create_app(
        settings,
        PgReadSide(pool, registry_schema),
        publisher,
        broadcasts=broadcasts,
        tokens=tokens,
        ops=PgOps(pool, end_offsets, registry_schema),
        background=[pg_listener(settings.database_url, registry_schema), probe.task()],
        health=probe.state,
        notify_status=notify_status,
        candidates=PgCandidates(pool, registry_schema),
        on_shutdown=[end_offsets.close, pool.close],
        **options,
    )
    app.add_exception_handler(psycopg.OperationalError, _database_down)
    app.add_exception_handler(psycopg.errors.UndefinedTable, _database_down)
    return app


class _Server(uvicorn.Server):
    """uvicorn's server, ending the live streams as soon as it starts to shut down.

    uvicorn's graceful shutdown waits for every response to finish, and a server-sent-events
    stream never finishes by itself: with one dashboard open, SIGTERM or Ctrl-C would wait
    forever (and `docker stop` until its SIGKILL). An ended stream's client reconnects, to
    the next instance, with Last-Event-ID, so it misses nothing.
    """

    def __init__(self, config: uvicorn.Config, hub: ChangeHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Runs on the event loop once the exit signal was seen, before waiting for responses.
        self.hub.close()
        await super().shutdown(sockets)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run until interrupted (Ctrl-C / SIGTERM stop it cleanly, open streams included)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        # A backstop: a response that still has not finished after this is cancelled.
        timeout_graceful_shutdown=5,
    )
    install_log_redaction()  # uvicorn.Config has just configured its loggers
    ctx: ApiContext = app.state.ctx
    _Server(config, ctx.hub).run()


_SECRET_PARAMETER = re.compile(r"((?:^|[?&])(?:token|access_token)=)[^&#\s]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Bearer tokens given in a URL (the live stream's `?token=`: EventSource cannot send a
    header) never reach a log file: uvicorn's access log writes the path with its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def redact_url(text: str) -> str:
    """`/api/stream?token=abc&x=1` -> `/api/stream?token=[redacted]&x=1`."""
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


def install_log_redaction() -> None:
    """On every logger that may write a request's URL (after uvicorn configured logging)."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "salespulse", ""):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
