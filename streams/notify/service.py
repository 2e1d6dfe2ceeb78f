"""The notifier process: broadcasts topic -> matching channels, plus the scheduled digests.

A consumer group on `sales.broadcasts` (at least once, like every consumer here) hands each
live announcement to the sender of every channel that takes it and has not recorded it
(projections/broadcasts/deliveries.py); digests are checked every `digest_every_s` and sent
once per channel and period. Kafka offsets are committed as outcomes are recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from infra.settings import Settings
from projections.broadcasts import deliveries
from projections.broadcasts.digest import Digest, build_digest, digest_period
from projections.model.kpi import parse_kpis
from projections.model.readmodel import Unit
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import active_version
from streams.notify.channels import Channel
from streams.notify.digest_text import digest_note
from streams.notify.offsets import OffsetBook
from streams.notify.sender import ChannelSender, Queued
from streams.notify.texts import KINDS, Item

log = logging.getLogger(__name__)
T = TypeVar("T")

COMMIT_EVERY_S = 1.0
UNITS_TTL_S = 60.0


def item_of(value: bytes) -> tuple[Item, datetime] | None:
    """The announcement in a broadcasts-topic record (streams/announcer.topic_record)."""
    try:
        doc = json.loads(value)
        item = Item(str(doc["broadcast_id"]), str(doc["kind"]), dict(doc.get("payload") or {}))
        return item, datetime.fromisoformat(doc["occurred_at"])
    except (ValueError, KeyError, TypeError):
        log.warning("skipping an unreadable broadcasts record: %r", value[:200])
        return None


class Notifier:
    """Runs the channels' senders, the consumer and the digest clock until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        channels: Sequence[Channel],
        *,
        group: str,
        registry_schema: str | None = None,
        digest_every_s: float = 15.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.channels, self.group = settings, list(channels), group
        self.schema = registry_schema or settings.schema_prefix
        self.digest_every_s, self.now = digest_every_s, now
        self.max_age = timedelta(hours=settings.live_cutoff_hours)
        self._conn: psycopg.Connection[Any] | None = None
        self._db_lock = threading.Lock()
        self._units: Mapping[str, Unit] = {}
        self._units_at = -UNITS_TTL_S
        self._book = OffsetBook()
        self._digests: set[tuple[str, str]] = set()

    # -- PostgreSQL, in a thread so the senders keep going meanwhile -----------------------
    async def _db(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        def call() -> T:
            with self._db_lock:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self.settings.database_url, autocommit=True)
                return fn(self._conn)

        return await asyncio.to_thread(call)

    async def _record(
        self,
        channel: str,
        keys: Sequence[str],
        status: str,
        attempts: int,
        message_id: str,
        error: str | None,
    ) -> None:
        def write(conn: psycopg.Connection[Any]) -> None:
            deliveries.record(
                conn, self.schema, channel, keys,
                status=status, attempts=attempts, message_id=message_id, error=error,
            )  # fmt: skip

        delay = 0.2
        while True:  # an outcome not recorded would be sent again: keep trying
            try:
                await self._db(write)
                return
            except psycopg.Error as exc:
                log.warning("recording a delivery failed (%s); retrying", exc)
                with contextlib.suppress(Exception):
                    if self._conn is not None:
                        self._conn.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _recorded(self, channel: str, keys: list[str]) -> set[str]:
        def read(conn: psycopg.Connection[Any]) -> set[str]:
            return deliveries.recorded(conn, self.schema, channel, keys)

        return await self._db(read)

    async def _units_now(self) -> Mapping[str, Unit]:
        if all(c.scope == "company" for c in self.channels):
            return self._units
        if time.monotonic() - self._units_at > UNITS_TTL_S:

            def load(conn: psycopg.Connection[Any]) -> Mapping[str, Unit]:
                info = active_version(conn, self.schema)
                return PostgresReadModel(conn, info.schema_name).units() if info else {}

            try:
                self._units = await self._db(load)
                self._units_at = time.monotonic()
            except psycopg.Error as exc:
                log.warning("cannot read the organisation (%s); using the last one", exc)
        return self._units

    # -- the loop --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        await self._db(lambda conn: deliveries.ensure_deliveries(conn, self.schema))
        async with httpx.AsyncClient() as http:
            senders = {
                c.name: ChannelSender(c, http, self._record, self.settings.base_currency)
                for c in self.channels
            }
            tasks = [asyncio.create_task(s.run(), name=f"notify:{n}") for n, s in senders.items()]
            tasks.append(asyncio.create_task(self._digest_clock(senders), name="notify:digests"))
            try:
                await self._consume(senders, stop)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                if self._conn is not None:
                    self._conn.close()

    async def _consume(self, senders: dict[str, ChannelSender], stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="salespulse-notify",
        )
        book = self._book

        class Revoked(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                book.forget(set(revoked))

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                return None

        await consumer.start()
        consumer.subscribe([self.settings.broadcasts_topic], listener=Revoked())
        committed_at = time.monotonic()
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=300, max_records=1000)
                for tp, records in batch.items():
                    await self._dispatch(tp, records, senders)
                if time.monotonic() - committed_at >= COMMIT_EVERY_S:
                    await self._commit(consumer)
                    committed_at = time.monotonic()
            await self._drain(senders, 5.0)
            await self._commit(consumer)
        finally:
            await consumer.stop()

    async def _dispatch(
        self, tp: TopicPartition, records: Sequence[Any], senders: dict[str, ChannelSender]
    ) -> None:
        units = await self._units_now()
        now = self.now()
        wanted: list[tuple[int, Item, list[Channel]]] = []
        for record in records:
            parsed = item_of(record.value)
            targets: list[Channel] = []
            if parsed is not None:
                item, at = parsed
                # Only news: history (a late sync, a backlog) and unknown kinds are not posted.
                fresh = item.payload.get("live", True) and now - at <= self.max_age
                if fresh and item.kind in KINDS:
                    targets = [c for c in self.channels if c.accepts(item, units)]
                if targets:
                    wanted.append((record.offset, item, targets))
                    continue
            self._book.read(tp, record.offset, 0)
        done_keys: dict[str, set[str]] = {}
        for channel in self.channels:
            keys = [i.key for _, i, cs in wanted if channel in cs]
            if keys:
                done_keys[channel.name] = await self._recorded(channel.name, keys)
        for offset, item, targets in wanted:
            todo = [c for c in targets if item.key not in done_keys.get(c.name, set())]
            done = self._book.read(tp, offset, len(todo))
            for channel in todo:
                senders[channel.name].submit(Queued(item.key, item=item, done=[done]))

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        offsets = {
            tp: OffsetAndMetadata(pos, "")
            for tp, pos in self._book.positions().items()
            if tp in assigned
        }
        if offsets:
            try:
                await consumer.commit(offsets)
            except Exception as exc:  # a rebalance in progress: the next commit catches up
                log.warning("committing notifier offsets failed: %s", exc)

    async def _drain(self, senders: dict[str, ChannelSender], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while any(s.pending() for s in senders.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    # -- digests ---------------------------------------------------------------------------
    def _due(self, channel: Channel, now: datetime) -> list[str]:
        local = now.astimezone(self.settings.zone)
        due = []
        if channel.daily_digest is not None and local.time() >= channel.daily_digest:
            due.append("daily")
        weekly = channel.weekly_digest
        if weekly is not None and local.weekday() == weekly[0] and local.time() >= weekly[1]:
            due.append("weekly")
        return due

    async def _digest_clock(self, senders: dict[str, ChannelSender]) -> None:
        while True:
            try:
                await self._send_digests(senders)
            except Exception:
                log.exception("digests failed; trying again in %.0f s", self.digest_every_s)
            await asyncio.sleep(self.digest_every_s)

    async def _send_digests(self, senders: dict[str, ChannelSender]) -> None:
        now = self.now()
        tz = self.settings.zone
        for channel in self.channels:
            for cadence in self._due(channel, now):
                key = f"digest:{cadence}:{digest_period(cadence, now, tz).text}"
                if (channel.name, key) in self._digests:
                    continue
                name = channel.name
                digest = await self._db(
                    functools.partial(self._build_digest, channel, cadence, key, now)
                )
                if digest is None:
                    continue  # sent already, or no projection yet: asked again next time
                # Queued once per process; the delivery table keeps it once across restarts.
                self._digests.add((name, key))
                note = digest_note(digest, channel.language, self.settings.base_currency)
                senders[name].submit(Queued(key, note=note))

    def _build_digest(
        self,
        channel: Channel,
        cadence: str,
        key: str,
        now: datetime,
        conn: psycopg.Connection[Any],
    ) -> Digest | None:
        """The channel's digest as of `now`, or None when sent already or nothing to read."""
        if deliveries.recorded(conn, self.schema, channel.name, [key]):
            return None
        info = active_version(conn, self.schema)
        if info is None:
            return None
        kpis = parse_kpis(info.kpis_toml, origin=f"projection version {info.version}")
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            rm = PostgresReadModel(conn, info.schema_name)
            return build_digest(rm, kpis, cadence, now, self.settings.zone, channel.scope)
