"""The bulk reader's raw fetch path on a real broker: read_raw_ranges returns exactly what was
produced, in the ranges asked, from a topic written both uncompressed and gzip-compressed (the
batches.c path and the aiokafka fallback in one read), with tombstones and keys, and the same
as the consumer path (read_ranges) reads."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.bulk_reader import read_ranges, read_raw_ranges

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, rng: random.Random) -> dict[tuple[int, int], bytes | None]:
    sent: dict[tuple[int, int], bytes | None] = {}
    for compression in (None, "gzip", None):
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", compression_type=compression, linger_ms=20
        )
        futures = []
        for i in range(3000):
            value = None if i % 97 == 0 else rng.randbytes(rng.randrange(1, 200))
            futures.append((producer.send(topic, key=str(i).encode(), value=value), value))
        producer.flush()
        for future, value in futures:
            meta = future.get(timeout=30)
            sent[(meta.partition, meta.offset)] = value
        producer.close()
    return sent


def test_raw_ranges_are_what_was_produced(
    kafka_bootstrap: str, make_topic: Callable[..., str]
) -> None:
    topic = make_topic(partitions=2)
    sent = _produce(kafka_bootstrap, topic, random.Random(14))
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
    end = {
        tp.partition: o
        for tp, o in consumer.end_offsets([TopicPartition(topic, p) for p in (0, 1)]).items()
    }
    consumer.close()
    assert sum(end.values()) == len(sent) == 9000

    whole = [v for batch in read_raw_ranges(kafka_bootstrap, topic, {}, end, 1000) for v in batch]
    assert sorted(whole) == sorted((p, o, v) for (p, o), v in sent.items())
    assert all(
        len(batch) <= 1000 for batch in read_raw_ranges(kafka_bootstrap, topic, {}, end, 1000)
    )

    start, stop = {0: 1234, 1: 4000}, {0: 4100, 1: end[1] - 3}
    part = [v for batch in read_raw_ranges(kafka_bootstrap, topic, start, stop, 700) for v in batch]
    expected = [(p, o, v) for (p, o), v in sent.items() if start[p] <= o < stop[p]]
    assert sorted(part) == sorted(expected)
    consumed = [
        (p, o)
        for batch in read_ranges(kafka_bootstrap, topic, start, stop, 700)
        for p, o, _ in batch
    ]
    assert sorted(consumed) == sorted((p, o) for p, o, _ in expected)
