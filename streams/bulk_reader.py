"""The bulk reader: ranges of the event log in large fetches, decoded in batches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from kafka import KafkaConsumer, TopicPartition

from projections.batch import Record
from streams.batching import RawRecord, decode_batch

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
MAX_POLL_RECORDS = 20_000


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
    todo = {p: (start.get(p, 0), e) for p, e in end.items() if start.get(p, 0) < e}
    if not todo:
        return
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="salespulse-bulk-reader",
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        max_poll_records=MAX_POLL_RECORDS,
        fetch_min_bytes=1024 * 1024,
        fetch_max_wait_ms=100,
    )
    try:
        tps = {p: TopicPartition(topic, p) for p in todo}
        consumer.assign(list(tps.values()))
        for p, (first, _) in todo.items():
            consumer.seek(tps[p], first)
        pending: list[RawRecord] = []
        while todo:
            for tp, messages in consumer.poll(timeout_ms=1000).items():
                stop = todo.get(tp.partition, (0, -1))[1]
                for m in messages:
                    if m.offset < stop:
                        pending.append(RawRecord(topic, m.partition, m.offset, m.key, m.value))
                if messages and messages[-1].offset >= stop - 1:
                    todo.pop(tp.partition, None)
                    consumer.pause(tp)
            while len(pending) >= batch_size or (not todo and pending):
                chunk, pending = pending[:batch_size], pending[batch_size:]
                yield decode_batch(chunk).records
    finally:
        consumer.close()
