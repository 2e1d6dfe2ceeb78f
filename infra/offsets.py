"""The log's end offsets, to compare with what a projection has applied (consumer lag)."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Per partition, the offset the next record will get (0 for an empty partition)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="salespulse-lag")
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def lag(end: dict[int, int], applied: dict[int, int]) -> dict[int, int]:
    """Records not yet applied per partition; `applied` holds the last applied offset."""
    return {p: max(0, e - (applied.get(p, -1) + 1)) for p, e in sorted(end.items())}
