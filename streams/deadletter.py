"""Dead letters: a record that cannot be decoded or validated, with the reason in its headers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    reason: str
    headers: list[tuple[str, bytes]]


def dead_letter(
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
) -> DeadLetter:
    """The DLQ record keeps the original key and bytes, so a fixed consumer can re-read it."""
    reason = " ".join(str(error).split())[:2000]  # one line, bounded: headers are not a log
    headers = [
        ("dlq.reason", reason.encode()),
        ("dlq.error_type", type(error).__name__.encode()),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", str(partition).encode()),
        ("dlq.offset", str(offset).encode()),
    ]
    return DeadLetter(key, value, topic, partition, offset, reason, headers)
