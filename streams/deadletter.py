"""Dead letters (pure): a record that cannot be read, kept byte for byte with the reason in headers.

The DLQ record has the original key and value, so a fixed consumer can re-read it exactly, and
says in headers why and from where: ``dlq.reason``, ``dlq.topic``, ``dlq.partition``,
``dlq.offset``, ``dlq.error_type``. Headers are small, single-line and UTF-8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Headers count against the broker's message size limit and are read by people in a console.
MAX_REASON_CHARS = 2000

DLQ_HEADERS = ("dlq.reason", "dlq.topic", "dlq.partition", "dlq.offset", "dlq.error_type")


@dataclass(frozen=True)
class DeadLetter:
    """What to send to the dead-letter topic, and where the record came from."""

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
    original_headers: Sequence[tuple[str, bytes]] = (),
) -> DeadLetter:
    """Build the DLQ record for the record at topic/partition/offset that raised `error`."""
    reason = describe(error)
    ours = [
        ("dlq.reason", reason.encode()),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", str(partition).encode()),
        ("dlq.offset", str(offset).encode()),
        ("dlq.error_type", type(error).__name__.encode()),
    ]
    # The record's own headers travel too, minus any dlq.* from an earlier trip through here.
    kept = [(k, v) for k, v in original_headers if k not in DLQ_HEADERS]
    return DeadLetter(key, value, topic, partition, offset, reason, kept + ours)


def describe(error: BaseException) -> str:
    """One bounded line: the error's message, then its cause's, when that adds anything."""
    text = str(error) or type(error).__name__
    cause = error.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} (caused by {type(cause).__name__}: {cause})"
    line = " ".join(text.split())  # one line: newlines in headers break every console tool
    if len(line) > MAX_REASON_CHARS:
        line = line[: MAX_REASON_CHARS - 1] + "…"
    return line
