"""The API over PostgreSQL: per-request snapshots of the active version, ops data, LISTEN.

Readers always see the active projection version (DESIGN.md): each request looks it up in
the registry inside its own REPEATABLE READ transaction, so a switch (one transaction) is
seen whole, never half.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from psycopg import sql
from psycopg_pool import ConnectionPool

from projections.broadcasts.log import BROADCASTS_CHANNEL
from projections.model.kpi import KpiDefinitions, parse_kpis
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import (
    VERSIONS_CHANNEL,
    active_version,
    applied_offsets,
    list_versions,
    notify_channel,
)
from projections.queries.view import ReadView
from salespulse.api.errors import NoActiveVersion
from salespulse.api.ops import PartitionLag, VersionStatus, progress_of
from salespulse.api.sse import ChangeHub

log = logging.getLogger(__name__)

_NO_VERSION = "no active projection version yet: start `salespulse worker` (it creates one)"


class PgReadSide:
    """A ReadModelFactory: one pooled connection and one snapshot per request."""

    def __init__(self, pool: ConnectionPool[Any], registry_schema: str = "public") -> None:
        self.pool = pool
        self.registry_schema = registry_schema
        self._kpis: dict[tuple[int, str], KpiDefinitions] = {}

    def _definitions(self, version: int, text: str) -> KpiDefinitions:
        # Parsing is cheap but not free; a version's definitions never change.
        key = (version, text)
        if key not in self._kpis:
            self._kpis[key] = parse_kpis(text, origin=f"projection version {version}")
        return self._kpis[key]

    @contextmanager
    def __call__(self) -> Iterator[ReadView]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                info = active_version(conn, self.registry_schema)
            except psycopg.errors.UndefinedTable:
                info = None
            if info is None:
                raise NoActiveVersion(_NO_VERSION)
            kpis = self._definitions(info.version, info.kpis_toml)
            yield ReadView(PostgresReadModel(conn, info.schema_name, org_once=True), kpis)


class KafkaEndOffsets:
    """Log end offsets of the events topic, cached briefly (a scrape must not hammer Kafka)."""

    def __init__(self, bootstrap: str, topic: str, ttl_s: float = 2.0) -> None:
        self.bootstrap, self.topic, self.ttl_s = bootstrap, topic, ttl_s
        self._consumer: KafkaConsumer | None = None
        self._cached: tuple[float, dict[int, int]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> dict[int, int] | None:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl_s:
                return self._cached[1]
            try:
                if self._consumer is None:
                    self._consumer = KafkaConsumer(
                        bootstrap_servers=self.bootstrap,
                        client_id="salespulse-api-lag",
                        enable_auto_commit=False,
                    )
                parts = self._consumer.partitions_for_topic(self.topic) or set()
                tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
                ends = self._consumer.end_offsets(tps) if tps else {}
            except KafkaError as exc:
                log.warning("cannot read end offsets of %s: %s", self.topic, exc)
                self.close()
                return None
            offsets = {tp.partition: int(end) for tp, end in ends.items()}
            self._cached = (time.monotonic(), offsets)
            return offsets

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class PgOps:
    """Versions from the registry, positions from each version's applied_offsets."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        end_offsets: Callable[[], dict[int, int] | None],
        registry_schema: str = "public",
    ) -> None:
        self.pool = pool
        self.end_offsets = end_offsets
        self.registry_schema = registry_schema

    def _positions(self) -> list[tuple[Any, dict[int, int]]]:
        with self.pool.connection() as conn:
            try:
                versions = list_versions(conn, self.registry_schema)
            except psycopg.errors.UndefinedTable:
                return []
            return [(v, applied_offsets(conn, v.schema_name)) for v in versions]

    def lag(self) -> list[PartitionLag] | None:
        ends = self.end_offsets()
        if ends is None:
            return None
        return [
            PartitionLag(v.version, p, applied.get(p, -1), end)
            for v, applied in self._positions()
            if v.status != "retired"
            for p, end in sorted(ends.items())
        ]

    def versions(self) -> list[VersionStatus]:
        ends = self.end_offsets()
        out = []
        for v, applied in self._positions():
            progress = lag = None
            if ends is not None and v.status != "retired":
                parts = [PartitionLag(v.version, p, applied.get(p, -1), e) for p, e in ends.items()]
                progress, lag = progress_of(parts)
            description = _description(v.kpis_toml)
            out.append(
                VersionStatus(
                    v.version,
                    v.status,
                    description,
                    v.schema_name,
                    v.created_at,
                    v.activated_at,
                    progress,
                    lag,
                )
            )
        return out


def _description(text: str) -> str:
    try:
        return parse_kpis(text).description
    except ValueError:
        return ""


def pg_listener(
    conninfo: str, registry_schema: str = "public", retry_s: float = 2.0
) -> Callable[[ChangeHub], Any]:
    """A background task: LISTEN for broadcasts, version switches and projection batches."""

    async def run(hub: ChangeHub) -> None:
        while True:
            try:
                await _listen(conninfo, registry_schema, hub)
            except (psycopg.Error, OSError) as exc:
                log.warning("LISTEN connection lost (%s); retrying in %.0fs", exc, retry_s)
                await asyncio.sleep(retry_s)

    return run


async def _listen(conninfo: str, registry_schema: str, hub: ChangeHub) -> None:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        channels = {BROADCASTS_CHANNEL, VERSIONS_CHANNEL}
        query = sql.SQL("SELECT schema_name FROM {}.projection_versions").format(
            sql.Identifier(registry_schema)
        )
        # No registry yet: the first version announces itself on VERSIONS_CHANNEL.
        with contextlib.suppress(psycopg.errors.UndefinedTable):
            rows = await (await conn.execute(query)).fetchall()
            channels |= {notify_channel(r[0]) for r in rows}
        for channel in sorted(channels):
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        # Whatever happened while we were not listening: let every stream look again.
        hub.notify("broadcasts")
        hub.notify("projection")
        async for note in conn.notifies():
            if note.channel == BROADCASTS_CHANNEL:
                hub.notify("broadcasts")
                continue
            hub.notify("projection")
            if note.channel == VERSIONS_CHANNEL:
                return  # reconnect to listen on the new version's channel too
