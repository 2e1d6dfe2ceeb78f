"""The batch engine of `salespulse worker`: consumer-group batches straight into the store.

faust's stream hands events to an agent one at a time; on 2 cores that path alone tops out
near 9k events/s (bench/README.md), a third of what the store can apply. The store wants
batches, and the consumer already fetches them: this engine takes `getmany()` batches from
an aiokafka consumer (faust's own client) in the same consumer group protocol, decodes and
folds the next batch while the previous one is being written, and keeps every guarantee of
the faust engine (`streams/agents/project.py`): at-least-once delivery, exactly-once effects
by the store's offsets and event ids, dead letters, the announcements outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from infra.collector import collector_paused
from infra.settings import Settings
from projections.model.batch import AppliedResult, FailedRecord, Prefolded, Record, prefold
from streams.announcer import Announcer
from streams.applying import (
    Abandoned,
    Versions,
    active_hook,
    apply_until_done,
    log_failed,
    relay,
)
from streams.batching import DecodedBatch, decode_batch, failed_letters

log = logging.getLogger(__name__)

COMMIT_EVERY_S = 1.0  # Kafka offsets are a hint (the store's offsets are the truth)
GC_EVERY_S = 60.0
CATCH_UP_EVERY_S = 1.0  # while idle: how often ready versions are brought up to the active
FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 8 * 1024 * 1024
IDLE_POLL_MS = 1000
BUSY_POLL_MS = 5


class BatchEngine:
    """Consume the events topic in the worker group and apply it batch by batch."""

    def __init__(self, settings: Settings, versions: Versions, announcer: Announcer | None):
        self.settings, self.versions, self.announcer = settings, versions, announcer
        self.batch_max = settings.batch_max
        self.within_s = settings.batch_within_ms / 1000
        self.stopping = asyncio.Event()
        self._busy: asyncio.Task[AppliedResult] | None = None  # the batch being written
        self._caught_up = 0.0  # when ready versions were last brought up to the active one
        self._to_commit: dict[TopicPartition, int] = {}
        self._committed_at = 0.0
        self._producer: AIOKafkaProducer | None = None
        self._announced = asyncio.Event()  # the relay has announcements to copy

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.worker_group,
            client_id=f"{s.worker_group}-worker",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
            # A crashed worker's partitions move to the survivors after 10 s, not a minute.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        producer = self._producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap, acks="all"
        )
        await producer.start()
        try:
            consumer.subscribe([s.events_topic], listener=_Rebalance(self, consumer))
            await consumer.start()
            try:
                await self._loop(consumer, producer)
            finally:
                await self.settle(consumer)
                await consumer.stop()
        finally:
            await producer.stop()

    async def _send_broadcasts(self, records: list[tuple[bytes, bytes]]) -> None:
        assert self._producer is not None
        topic = self.settings.broadcasts_topic
        sent = [await self._producer.send(topic, value=v, key=k) for k, v in records]
        await asyncio.gather(*sent)

    async def _relay_forever(self) -> None:
        """Copy announcements to Kafka beside the writes, not between them (the outbox)."""
        delay = 0.2
        while True:
            await self._announced.wait()
            self._announced.clear()
            try:
                await relay(self.announcer, self._send_broadcasts)
                delay = 0.2
            except Exception:  # e.g. Kafka unreachable: they stay in the outbox meanwhile
                log.exception("relaying announcements failed; retrying in %.1fs", delay)
                self._announced.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _loop(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        # Announcements recorded before a crash but not yet copied to Kafka go out first.
        await relay(self.announcer, self._send_broadcasts)
        relayer = asyncio.create_task(self._relay_forever())
        try:
            await self._consume(consumer, producer)
        finally:
            relayer.cancel()
        try:
            await relay(self.announcer, self._send_broadcasts)
        except Exception as exc:  # stopping while a server is away: the next worker relays them
            log.warning("announcements left in the outbox at shutdown: %s", exc)

    async def _consume(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        gc.freeze()  # start-up objects live forever: keep them out of every collection
        gc.disable()  # collected every GC_EVERY_S instead (projections/collector.py)
        collected = time.monotonic()
        while not self.stopping.is_set():
            messages = await self._gather(consumer)
            if not messages:
                await self._catch_up_when_idle(consumer)
                continue
            with collector_paused():
                batch = decode_batch(messages)
                # Folded here, while the previous batch is written: PostgreSQL's share of a
                # batch then overlaps this thread's work instead of waiting for it.
                ahead = self._prefold(batch.records)
            await self._send_dead_letters(producer, batch)
            # Batches of one partition must apply in log order: wait for the previous one.
            await self._finish(consumer)
            self._busy = asyncio.create_task(
                apply_until_done(
                    self.versions,
                    batch.records,
                    self.announcer,
                    self._dead_letters_for(producer, messages),
                    self.stopping,
                    ahead,
                )
            )
            # Let the write start in its thread now: getmany() does not yield to the event
            # loop when records are buffered, and decoding the next batch never does.
            await asyncio.sleep(0)
            # Each partition's records come in log order: the last one seen is its position.
            positions = {m.partition: m.offset + 1 for m in messages}
            for partition, position in positions.items():
                tp = TopicPartition(self.settings.events_topic, partition)
                self._to_commit[tp] = max(self._to_commit.get(tp, 0), position)
            if time.monotonic() - collected > GC_EVERY_S:
                gc.collect()
                collected = time.monotonic()
        await self._finish(consumer)

    def _prefold(self, records: list[Record]) -> Prefolded | None:
        active = self.versions.active
        return prefold(records, active.ctx) if active is not None else None

    async def _catch_up_when_idle(self, consumer: AIOKafkaConsumer) -> None:
        """Idle and nothing being written: check the store against the consumer's positions
        and let ready versions catch up (once a second; streams/versions.py says why)."""
        if self._busy is not None and not self._busy.done():
            return
        if time.monotonic() - self._caught_up < CATCH_UP_EVERY_S:
            return
        self._caught_up = time.monotonic()
        try:
            positions = await _positions(consumer)
            result = await asyncio.to_thread(
                self.versions.catch_up, positions, active_hook(self.versions, self.announcer)
            )
        except Exception as exc:  # e.g. PostgreSQL down: reopen what it dropped, retry later
            log.warning("catching up with the log while idle failed: %s", exc)
            with contextlib.suppress(Exception):  # still down: the next attempt says so
                await asyncio.to_thread(self.versions.heal)
            return
        if result.applied:
            log.warning(
                "re-applied %d events the store did not have (a commit lost in a crash?)",
                result.applied,
            )
        log_failed(result)
        if result.deal_wins:
            self._announced.set()

    async def _gather(self, consumer: AIOKafkaConsumer) -> list[Any]:
        """Up to batch_max records: what arrives within the window after the first one, and
        while the previous batch is still being written (the next batch grows meanwhile)."""
        messages: list[Any] = []
        deadline: float | None = None
        while len(messages) < self.batch_max and not self.stopping.is_set():
            now = time.monotonic()
            writing = self._busy is not None and not self._busy.done()
            if deadline is not None and now >= deadline and not writing:
                break
            if deadline is None:
                timeout_ms = BUSY_POLL_MS if writing else IDLE_POLL_MS
            else:
                timeout_ms = BUSY_POLL_MS if now >= deadline else int((deadline - now) * 1000) + 1
            got = await consumer.getmany(
                timeout_ms=timeout_ms, max_records=self.batch_max - len(messages)
            )
            for records in got.values():
                messages.extend(records)
            if messages and deadline is None:
                deadline = time.monotonic() + self.within_s
            if not messages and not writing:
                return messages  # idle: let the caller check for a stop
        return messages

    async def _finish(self, consumer: AIOKafkaConsumer) -> None:
        """Wait for the batch being written; relay its announcements; commit now and then."""
        await self._written()
        if time.monotonic() - self._committed_at >= COMMIT_EVERY_S:
            await self._commit(consumer)

    async def _written(self) -> None:
        if self._busy is None:
            return
        try:
            result = await self._busy
        except Abandoned:
            # Stopping while the store is away: nothing of this batch may be committed to
            # Kafka (the next owner starts at the store's offsets, or Kafka's, if none).
            self._busy = None
            self._to_commit.clear()
            return
        self._busy = None
        if result.deal_wins:
            self._announced.set()

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        offsets = {tp: o for tp, o in self._to_commit.items() if tp in assigned}
        self._to_commit.clear()
        self._committed_at = time.monotonic()
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # e.g. a rebalance in between; the store has the offsets
            log.info("Kafka offset commit skipped: %s", exc)

    async def settle(self, consumer: AIOKafkaConsumer) -> None:
        """Before partitions go (rebalance, shutdown): finish the write, commit its offsets."""
        await self._written()
        await self._commit(consumer)

    def _dead_letters_for(self, producer: AIOKafkaProducer, messages: list[Any]) -> Any:
        async def send(failed: tuple[FailedRecord, ...]) -> None:
            await self._send_letters(producer, failed_letters(messages, failed))

        return send

    async def _send_dead_letters(self, producer: AIOKafkaProducer, batch: DecodedBatch) -> None:
        await self._send_letters(producer, batch.dead_letters)

    async def _send_letters(self, producer: AIOKafkaProducer, letters: list[Any]) -> None:
        for letter in letters:
            log.warning(
                "dead letter: %s[%d]@%d: %s",
                letter.topic,
                letter.partition,
                letter.offset,
                letter.reason,
            )
            await producer.send_and_wait(
                self.settings.dlq_topic, value=letter.value, key=letter.key, headers=letter.headers
            )

    async def seek_to_stored(
        self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]
    ) -> None:
        """Start each new partition after the offset the active projection recorded, and a
        partition it recorded nothing of at the beginning.

        Kafka's committed offset may lag behind the store's (commits are periodic); reading
        from the store's skips what would be skipped anyway. It may also be ahead of the
        store's (a commit PostgreSQL lost in a crash): the store's is the truth. When the
        store cannot be read now (PostgreSQL away), Kafka's offsets stand meanwhile: the
        first batch, or the idle check, reads any gap from the log (streams/versions.py)."""
        active = self.versions.active
        if active is None or not assigned:
            return
        try:
            stored = await asyncio.to_thread(active.offsets)
        except Exception as exc:
            log.warning("reading the store's offsets failed, Kafka's stand meanwhile: %s", exc)
            return
        for tp in assigned:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition] + 1)
        unrecorded = [tp for tp in assigned if tp.partition not in stored]
        if unrecorded:
            await consumer.seek_to_beginning(*unrecorded)


async def _positions(consumer: AIOKafkaConsumer) -> dict[int, int]:
    """The next offset the consumer reads, per assigned partition that has one now."""
    positions: dict[int, int] = {}
    for tp in consumer.assignment():
        with contextlib.suppress(TimeoutError, KafkaError):
            positions[tp.partition] = await asyncio.wait_for(consumer.position(tp), 0.5)
    return positions


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, engine: BatchEngine, consumer: AIOKafkaConsumer) -> None:
        self.engine, self.consumer = engine, consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.engine.settle(self.consumer)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.engine.seek_to_stored(self.consumer, assigned)
