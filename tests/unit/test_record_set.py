"""streams.record_set reads a fetched record set the way aiokafka's consumer does: batches.c
(uncompressed v2 batches) and the aiokafka fallback (compressed and older batches, or every
batch with the C reader off) give the same values and the same next offset, for record sets
holding tombstones, keys and headers, compressed and control batches, a batch cut off by the
fetch's size, and ranges that start and stop inside a batch; a corrupt batch is an error naming
the partition, on both paths.
"""

from __future__ import annotations

import os
import random

import pytest
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from aiokafka.record.legacy_records import LegacyRecordBatchBuilder
from aiokafka.record.util import calc_crc32c

from streams import native
from streams.record_set import CorruptRecordSet, RawValue, values_in

GZIP = DefaultRecordBatch.CODEC_GZIP

if native.batches() is None and os.environ.get("SALESPULSE_NATIVE", "1") != "0":
    if os.environ.get("CI"):  # CI compiles it: there, not having it is a failure
        raise AssertionError("streams.native._batches is not compiled; the install must build it")
    pytest.skip("the C batch reader is not compiled on this machine", allow_module_level=True)


def batch(base: int, values: list[bytes | None], compression: int = 0, gap: int = 1) -> bytes:
    """A v2 batch of `values` from offset `base`, offsets `gap` apart (a compacted log)."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=compression, is_transactional=0,
        producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 24,
    )  # fmt: skip
    for i, value in enumerate(values):
        key = f"k{i}".encode() if i % 3 else None
        headers = [("h", b"x")] if i % 4 == 1 else []
        builder.append(i * gap, timestamp=1_700_000_000_000 + i, key=key, value=value,
                       headers=headers)  # fmt: skip
    raw = bytearray(builder.build())
    raw[0:8] = base.to_bytes(8, "big", signed=True)
    return bytes(raw)


def control(data: bytes) -> bytes:
    """The same batch marked as a control batch (a transaction marker), its CRC made anew."""
    raw = bytearray(data)
    raw[22] |= 0x20
    raw[17:21] = calc_crc32c(bytes(raw[21:])).to_bytes(4, "big")
    return bytes(raw)


def legacy(base: int, value: bytes) -> bytes:
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=0, batch_size=1 << 20)
    builder.append(0, timestamp=1_700_000_000_000, key=None, value=value)
    raw = bytearray(builder.build())
    raw[0:8] = base.to_bytes(8, "big", signed=True)
    return bytes(raw)


def values(n: int, rng: random.Random) -> list[bytes | None]:
    return [None if rng.random() < 0.1 else rng.randbytes(rng.randrange(0, 300)) for _ in range(n)]


def both(
    monkeypatch: pytest.MonkeyPatch, data: bytes, first: int, stop: int
) -> tuple[list[RawValue], int | None]:
    with monkeypatch.context() as m:
        m.setenv("SALESPULSE_NATIVE", "0")
        python = values_in(data, 7, first, stop)
    assert values_in(data, 7, first, stop) == python
    return python


def test_mixed_record_set_reads_as_aiokafka_does(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(14)
    parts, expected, offset = [], [], 0
    for k in range(12):
        vs = values(rng.randrange(1, 60), rng)
        kind = k % 4
        gap = 2 if k == 5 else 1
        if kind == 3:
            parts.append(control(batch(offset, vs[:1])))
            offset += 1
            continue
        parts.append(batch(offset, vs, GZIP if kind == 1 else 0, gap))
        expected += [(7, offset + i * gap, v) for i, v in enumerate(vs)]
        offset += (len(vs) - 1) * gap + 1
    whole = b"".join(parts)
    assert both(monkeypatch, whole, 0, 1 << 40) == (expected, offset)
    # the fetch's size cut the last batch: read up to it, fetched again from its offset
    cut = whole[: len(whole) - 5]
    last_base = int.from_bytes(parts[-1][:8], "big")
    assert both(monkeypatch, cut, 0, 1 << 40) == (
        [v for v in expected if v[1] < last_base],
        last_base,
    )
    # a range inside batches
    lo, hi = expected[17][1], expected[-9][1]
    assert both(monkeypatch, whole, lo, hi) == ([v for v in expected if lo <= v[1] < hi], offset)


def test_nothing_whole_and_older_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    assert both(monkeypatch, b"", 0, 10) == ([], None)
    assert both(monkeypatch, batch(0, [b"a", b"b"])[:40], 0, 10) == ([], None)
    data = legacy(0, b"old") + batch(1, [b"new", None])
    assert both(monkeypatch, data, 0, 10) == ([(7, 0, b"old"), (7, 1, b"new"), (7, 2, None)], 3)


@pytest.mark.parametrize("native_on", ["1", "0"])
def test_a_corrupt_batch_names_partition(monkeypatch: pytest.MonkeyPatch, native_on: str) -> None:
    monkeypatch.setenv("SALESPULSE_NATIVE", native_on)
    raw = bytearray(batch(0, [b"a" * 40, b"b"]) + batch(2, [b"c"]))
    raw[70] ^= 0xFF
    with pytest.raises(CorruptRecordSet, match=r"partition 7: .*CRC"):
        values_in(bytes(raw), 7, 0, 10)


def test_records_that_overrun_their_batch_are_refused_in_c() -> None:
    if native.batches() is None:
        pytest.skip("the C batch reader is turned off")
    raw = bytearray(batch(40, [b"a" * 40, b"b"]))
    raw[61] = 0x7E  # the first record's length: 63, past the batch's end
    raw[17:21] = calc_crc32c(bytes(raw[21:])).to_bytes(4, "big")
    with pytest.raises(CorruptRecordSet, match="partition 7: record batch at offset 40"):
        values_in(bytes(raw), 7, 0, 100)
