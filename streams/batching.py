"""Turn a batch of raw log records into positioned events and dead letters (pure, no I/O).

The log is trusted (every record passed validation at the edge), so records are decoded by
`schemas.trusted.decode_trusted`: fastavro straight into the fold, no pydantic on this path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.model.batch import FailedRecord, Record
from schemas.codec import DecodeError
from schemas.trusted import LogEvent, decode_trusted
from streams.deadletter import DeadLetter, dead_letter


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class LogRecord(Protocol):
    """A record read from the log: RawRecord, or a Kafka client's own record object."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True)
class DecodedBatch:
    # (partition, offset, event); event is None for a record sent to the dead-letter topic,
    # so that its offset still counts as applied.
    records: list[Record]
    dead_letters: list[DeadLetter]


def decode_batch(raw: Iterable[LogRecord]) -> DecodedBatch:
    records: list[Record] = []
    dead: list[DeadLetter] = []
    for rec in raw:
        try:
            if rec.value is None:
                raise DecodeError("empty record value (tombstone) on the event log")
            event: LogEvent | None = decode_trusted(rec.value)
        except DecodeError as exc:
            dead.append(dead_letter(rec.key, rec.value, rec.topic, rec.partition, rec.offset, exc))
            event = None
        records.append((rec.partition, rec.offset, event))
    return DecodedBatch(records, dead)


class NotApplied(Exception):
    """A decoded record the fold or PostgreSQL refused (the store isolated it)."""


def failed_letters(raw: Sequence[LogRecord], failed: Sequence[FailedRecord]) -> list[DeadLetter]:
    """Dead letters for the records of `raw` that the store reported as not applied."""
    by_position = {(f.partition, f.offset): f for f in failed}
    return [
        dead_letter(
            rec.key,
            rec.value,
            rec.topic,
            rec.partition,
            rec.offset,
            NotApplied(by_position[(rec.partition, rec.offset)].error),
        )
        for rec in raw
        if (rec.partition, rec.offset) in by_position
    ]
