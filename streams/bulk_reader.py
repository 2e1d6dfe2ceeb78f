"""The bulk reader: ranges of the event log in large fetches, in batches, read ahead.

A thread of its own runs an aiokafka consumer (assigned partitions, no group); the caller gets
batches from a short queue and works on them meanwhile. aiokafka parses record batches about
3x faster than kafka-python here (bench/README.md). `read_ranges` hands decoded records (the
catch-up and gap fills apply them with the live store); `read_raw_ranges` hands the values
undecoded, for the bulk build, which decodes each one as it folds it: a decoded batch held
20,000 events between the threads, and decoding into memory that is dropped at once cost
about half as much (the replay used ~17 % less CPU).

`read_raw_ranges` sends the fetch requests itself (aiokafka's client, no consumer) and reads
the record sets with streams.record_set (C): the consumer built a ConsumerRecord per record in
Python, ~3 µs each, the largest part of a replay's reading (bench/README.md, "Replay: the raw
fetch path"). `read_ranges` keeps the consumer: its catch-ups are short, and the dead letters
it makes need each record's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from functools import partial
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest

from infra.collector import collector_paused
from projections.model.batch import Record
from streams.batching import decode_batch
from streams.record_set import RawValue, values_in

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
READ_AHEAD = 2  # decoded batches waiting for the writer: bounds memory
POLL_MS = 1000


class _Done:
    """End of the ranges (or the reader's failure, re-raised in the caller)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


FETCH_WAIT_MS = 100
FETCH_MIN_BYTES = 1024 * 1024
T = TypeVar("T")

__all__ = ["RawValue", "read_ranges", "read_raw_ranges"]


def read_ranges(
    bootstrap: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    batch_size: int = 10_000,
) -> Iterator[list[Record]]:
    """Records of each partition p from offset start[p] up to (not including) end[p].

    No consumer group: the reader assigns partitions itself and keeps no Kafka offsets; the
    caller's store is where progress lives. Undecodable records come back as None events (the
    live worker sends them to the dead letters; a replay only needs their offsets).
    """
    return _ranges(partial(_consume, bootstrap, topic, convert=_decoded), start, end, batch_size)


def read_raw_ranges(
    bootstrap: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    batch_size: int = 10_000,
) -> Iterator[list[RawValue]]:
    """The same ranges as read_ranges, undecoded: (partition, offset, value)."""
    return _ranges(partial(_fetch_raw, bootstrap, topic), start, end, batch_size)


# A reader: (todo, batch_size, out, stop) puts batches of todo's ranges on out until done.
Reader = Callable[..., Coroutine[Any, Any, None]]


def _ranges(
    read: Reader, start: Mapping[int, int], end: Mapping[int, int], batch_size: int
) -> Iterator[list[T]]:
    todo = {p: (start.get(p, 0), e) for p, e in end.items() if start.get(p, 0) < e}
    if not todo:
        return
    batches: queue.Queue[list[T] | _Done] = queue.Queue(READ_AHEAD)
    stop = threading.Event()
    reader = threading.Thread(
        target=_run_reader,
        args=(partial(read, todo, batch_size, batches, stop), batches),
        name="salespulse-bulk-reader",
        daemon=True,
    )
    reader.start()
    try:
        while True:
            item = batches.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        reader.join()


def _run_reader(read: Callable[[], Coroutine[Any, Any, None]], out: queue.Queue[Any]) -> None:
    try:
        asyncio.run(read())
    except BaseException as exc:  # handed to the caller's thread
        out.put(_Done(exc))
    else:
        out.put(_Done())


async def _consume(
    bootstrap: str,
    topic: str,
    todo: dict[int, tuple[int, int]],
    batch_size: int,
    out: queue.Queue[Any],
    stop: threading.Event,
    *,
    convert: Callable[[list[Any]], list[Any]],
) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="salespulse-bulk-reader",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_min_bytes=1024 * 1024,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        tps = {p: TopicPartition(topic, p) for p in todo}
        consumer.assign(list(tps.values()))
        for p, (first, _) in todo.items():
            consumer.seek(tps[p], first)
        pending: list[Any] = []
        while todo and not stop.is_set():
            got = await consumer.getmany(timeout_ms=POLL_MS, max_records=batch_size)
            for tp, messages in got.items():
                stop_at = todo.get(tp.partition, (0, -1))[1]
                pending += [m for m in messages if m.offset < stop_at]
                if messages and messages[-1].offset >= stop_at - 1:
                    todo.pop(tp.partition, None)
                    consumer.pause(tp)
            while len(pending) >= batch_size or (not todo and pending):
                chunk, pending = pending[:batch_size], pending[batch_size:]
                out.put(convert(chunk))
    finally:
        await consumer.stop()


async def _fetch_raw(
    bootstrap: str,
    topic: str,
    todo: dict[int, tuple[int, int]],
    batch_size: int,
    out: queue.Queue[Any],
    stop: threading.Event,
) -> None:
    """Fetch requests to each partition's leader, all partitions of a leader in one, until each
    partition's position passes its end; values in batches of batch_size."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="salespulse-bulk-reader")
    await client.bootstrap()
    try:
        position = {p: first for p, (first, _) in todo.items()}
        pending: list[RawValue] = []
        while position and not stop.is_set():
            responses = await asyncio.gather(
                *(client.send(node, request) for node, request in
                  (await _requests(client, topic, position)).items())
            )  # fmt: skip
            for response in responses:
                for _, partitions in response.topics:
                    for partition, error_code, _highwater, *data in partitions:
                        if not await _usable(client, topic, partition, error_code, position):
                            continue
                        stop_at = todo[partition][1]
                        values, after = values_in(data[-1], partition, position[partition], stop_at)
                        pending += values
                        if after is not None:
                            position[partition] = after
                        if position[partition] >= stop_at:
                            del position[partition]
            while len(pending) >= batch_size or (not position and pending):
                chunk, pending = pending[:batch_size], pending[batch_size:]
                out.put(chunk)
    finally:
        await client.close()


async def _requests(
    client: AIOKafkaClient, topic: str, position: dict[int, int]
) -> dict[int, FetchRequest]:
    """One fetch request per leader for the partitions left (read_uncommitted, as the consumer
    reads by default: a SalesPulse log holds no transactions)."""
    by_leader: dict[int, list[tuple[int, int, int]]] = {}
    for p, offset in position.items():
        leader = client.cluster.leader_for_partition(TopicPartition(topic, p))
        if leader is None or leader < 0:
            await client.force_metadata_update()
            leader = client.cluster.leader_for_partition(TopicPartition(topic, p))
            if leader is None or leader < 0:
                continue  # no leader yet: asked again next round
        by_leader.setdefault(leader, []).append((p, offset, PARTITION_FETCH_BYTES))
    if not by_leader:
        await asyncio.sleep(0.1)
    return {
        leader: FetchRequest(FETCH_WAIT_MS, FETCH_MIN_BYTES, FETCH_MAX_BYTES, 0, [(topic, parts)])
        for leader, parts in by_leader.items()
    }


async def _usable(
    client: AIOKafkaClient, topic: str, partition: int, error_code: int, position: dict[int, int]
) -> bool:
    """Whether a partition's fetched data can be read: a moved leader refreshes the metadata
    (fetched again next round); any other error ends the read, naming partition and offset."""
    error = kafka_errors.for_code(error_code)
    if error is kafka_errors.NoError:
        return True
    if error.retriable:
        await client.force_metadata_update()
        return False
    raise error(f"{topic} partition {partition} at offset {position[partition]}: {error.__name__}")


def _decoded(messages: list[Any]) -> list[Record]:
    with collector_paused():
        return decode_batch(messages).records
