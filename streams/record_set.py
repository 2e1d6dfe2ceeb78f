"""The values of one partition's fetched record set: offsets first ≤ o < stop, and where to
fetch next.

batches.c reads uncompressed v2 batches (all of a SalesPulse log unless a producer was told to
compress); a batch it leaves (compressed, an older format), and every batch when it is not
compiled, is read by aiokafka's own parser (MemoryRecords). Control batches (transaction
markers) hold no values; both skip them, as the consumer does.
"""

from __future__ import annotations

from aiokafka.record.memory_records import MemoryRecords

from streams.native import batches

# (partition, offset, value): a record as the log holds it (value None: a tombstone).
RawValue = tuple[int, int, bytes | None]


class CorruptRecordSet(ValueError):
    """A batch whose CRC fails or whose records do not fit their lengths."""


def values_in(
    data: bytes, partition: int, first: int, stop: int
) -> tuple[list[RawValue], int | None]:
    """The values of `data`'s whole batches in [first, stop), and the offset after the last
    whole batch (None when data holds none: empty, or its first batch cut off)."""
    native = batches()
    out: list[RawValue] = []
    next_offset: int | None = None
    pos = 0
    try:
        while pos < len(data):
            if native is not None:
                got, after, pos, fallback = native.values(data, pos, partition, first, stop)
                out += got
                if after >= 0:
                    next_offset = after
                if not fallback:
                    break
            after, pos = _one_batch(data, pos, partition, first, stop, out)
            if after is None:
                break
            next_offset = after
    except ValueError as exc:
        raise CorruptRecordSet(f"partition {partition}: {exc}") from exc
    return out, next_offset


def _one_batch(
    data: bytes, pos: int, partition: int, first: int, stop: int, out: list[RawValue]
) -> tuple[int | None, int]:
    """The batch at `pos` read by aiokafka: its next offset and end (None, pos: cut off)."""
    if len(data) - pos < 12:
        return None, pos
    end = pos + 12 + int.from_bytes(data[pos + 8 : pos + 12], "big", signed=True)
    if end > len(data) or end < pos + 12:
        return None, pos
    batch = MemoryRecords(data[pos:end]).next_batch()
    if batch is None:
        return None, pos
    if not batch.validate_crc():
        raise ValueError(f"record batch at byte {pos}: CRC does not match (corrupt)")
    if not batch.is_control_batch:
        out += [(partition, r.offset, r.value) for r in batch if first <= r.offset < stop]
    return batch.next_offset, end
