"""One replay process's bulk build: its partitions read, de-duplicated, folded into memory.

Records come from the bulk reader (large fetches) undecoded; each is decoded (trusted
decode) as it is folded, passes the per-partition event-id check and goes through the same
fold as the live store, merged in place into one in-memory Aggregate (Aggregate.fold_in).
When the estimated state passes the memory limit, the partial aggregate, the ids and the
offsets read are flushed (BulkLoader.flush, one transaction) and the build goes on.

De-duplication per partition is exact without a global look-up because the Kafka key is a
function of the event (infra.publisher.partition_key: its aggregate id), so a resubmitted
event lands on the partition of its first copy. Ids of the current segment are held in a set;
ids of earlier (flushed) segments are summarised in a fixed-size bitmap: an id that hits it
may be a repeat, is held back, and is checked against the staging table at the next flush.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from projections.model.aggregate import Aggregate
from projections.model.columns import ColumnFold, eligible
from projections.model.context import FoldContext
from projections.model.fold import ACTIVITY_ONLY, FoldEvent, LocalDays
from projections.postgres.bulk import BulkLoader
from schemas.codec import DecodeError
from schemas.events import EVENT_TYPES
from schemas.native import DATA_AT, EventReader, event_reader, scanner
from schemas.trusted import Activity, LogEvent, decode_activity, decode_trusted
from streams.bulk_reader import RawValue, read_raw_ranges

MiB = 1024 * 1024
DEFAULT_MEMORY = 256 * MiB
READ_BATCH = 20_000  # records handed from the reader thread at a time
# Rough resident bytes per held item (measured with tracemalloc on the bench history): an
# aggregate entry (key tuple + cell or NamedTuple), an id in a set, a held-back event.
ENTRY_BYTES, ID_BYTES, EVENT_BYTES = 400, 110, 1500
MIN_BITMAP, MAX_BITMAP = 1 * MiB, 64 * MiB
# Decoded as their parts (schemas.trusted.decode_activity): calls, visits, leads.
ACTIVITY_TYPES = frozenset(ACTIVITY_ONLY)
# A record decoded in Python: partition, event id (int), the activity's parts or the event, bytes.
_Decoded = tuple[int, int, Activity | None, LogEvent | None, bytes]
_EVENT_ID = operator.itemgetter(2)  # of a scanned row


@dataclass
class BuildStats:
    records: int = 0
    folded: int = 0
    duplicates: int = 0
    failed: int = 0
    flushes: int = 0


@dataclass
class _Segment:
    """What is held in memory between two flushes."""

    aggregate: Aggregate = field(default_factory=Aggregate)
    ids: dict[int, set[int]] = field(default_factory=dict)  # partition -> UUID ints
    held: list[tuple[int, FoldEvent]] = field(default_factory=list)  # may repeat a flushed id
    last: dict[int, int] = field(default_factory=dict)  # partition -> last offset read


class BulkBuild:
    """The in-memory state of one process's build; `add` records, `flush` when full."""

    def __init__(
        self, ctx: FoldContext, loader: BulkLoader, memory: int, native: bool = True
    ) -> None:
        self.ctx, self.loader = ctx, loader
        bitmap = min(MAX_BITMAP, max(MIN_BITMAP, memory // 4))
        self.budget = max(memory - bitmap, MiB)
        self.bits = bitmap * 8 - 1  # odd: ids are taken modulo it (sequential ids spread too)
        self._bitmap_bytes = bitmap
        self.flushed: bytearray | None = None  # allocated at the first flush
        self._unmarked: list[set[int]] = []  # ids flushed, not yet in the bitmap
        self.segment = _Segment()
        self.stats = BuildStats()
        self.days = LocalDays(ctx.tz)
        # Calls, visits and leads read by the C reader and folded a column at a time, when it
        # is compiled (schemas.native) and for the types whose metrics are all counts.
        self.scanner = scanner(eligible(ctx, ACTIVITY_TYPES)) if native else None
        self.columns = (
            ColumnFold(ctx, self.scanner.types, self.scanner.fields, DATA_AT, self.days)
            if self.scanner is not None
            else None
        )
        # The other types the C reader reads, made into the events decode_trusted makes.
        self.events = event_reader(set(EVENT_TYPES) - ACTIVITY_TYPES) if native else None

    def resume(self, partitions: Iterable[int]) -> None:
        """Mark the ids earlier runs flushed for these partitions (after a kill)."""
        self._mark_all(self.loader.staged_ids(partitions))

    def _mark_all(self, ids: Iterable[int]) -> None:
        if self.flushed is None:
            self.flushed = bytearray(self._bitmap_bytes)
        bitmap, bits = self.flushed, self.bits
        for n in ids:
            h = n % bits
            bitmap[h >> 3] |= 1 << (h & 7)

    def add(self, records: list[RawValue]) -> None:
        """Decode, de-duplicate and fold a batch read from the log."""
        if self._unmarked:
            for ids in self._unmarked:
                self._mark_all(ids)
            self._unmarked = []
        last = self.segment.last
        for partition, offset, _ in records:
            last[partition] = offset  # tombstones and undecodable records count here too
        self.stats.records += len(records)
        if self.scanner is None:
            self._fold_decoded(self._decode(records, self.events))
            return
        rows, others = self.scanner.scan([value for _, _, value in records])
        rest = self._decode([records[i] for i in others], self.events) if others else []
        if rest and rows and not {d[1] for d in rest}.isdisjoint(map(_EVENT_ID, rows)):
            # One event id on a scanned record and on another of this batch (no edge writes
            # such a log): which copy counts depends on log order, so all of it the Python way.
            self._fold_decoded(self._decode(records))
            return
        # Otherwise the order between the two sets cannot change a cell: rows of different
        # events merge commutatively (Aggregate), and each id's copies stay in one set.
        self._fold_decoded(rest)
        self._fold_rows(rows, records)

    def _decode(self, records: list[RawValue], reader: EventReader | None = None) -> list[_Decoded]:
        # Calls, visits and leads (most of a log) as their parts, the rest as events: by the
        # C event reader where given and it reads the value, else by schemas.trusted.
        values = [v for _, _, v in records]
        read = reader.decode(values) if reader else [None] * len(values)
        out: list[_Decoded] = []
        for (partition, _, value), read_event in zip(records, read, strict=True):
            if read_event is not None:
                out.append((partition, read_event.event_id.int, None, read_event, value))  # type: ignore[arg-type]
                continue
            if value is None:
                continue  # a tombstone: the live worker dead-letters it; only its offset counts
            try:
                activity = decode_activity(value, ACTIVITY_TYPES)
                if activity is None:
                    event = decode_trusted(value)
                    out.append((partition, event.event_id.int, None, event, value))
                else:
                    out.append((partition, activity[0], activity, None, value))
            except DecodeError:
                continue  # undecodable: dead-lettered by the live worker, as above
        return out

    def _fold_decoded(self, decoded: list[_Decoded]) -> None:
        seg, ctx, stats = self.segment, self.ctx, self.stats
        bitmap, bits = self.flushed, self.bits
        fold_in, fold_activity, day_of = (
            seg.aggregate.fold_in,
            seg.aggregate.fold_activity,
            self.days,
        )
        ids: set[int] | None = None
        current = -1
        for partition, n, activity, event, value in decoded:
            if partition != current:
                current = partition
                ids = seg.ids.setdefault(partition, set())
            assert ids is not None
            if n in ids:
                stats.duplicates += 1
                continue
            ids.add(n)
            if bitmap is not None:
                h = n % bits
                if bitmap[h >> 3] & (1 << (h & 7)):
                    seg.held.append((partition, event or decode_trusted(value)))
                    continue
            try:
                if event is not None:
                    fold_in(event, ctx)
                else:
                    assert activity is not None
                    _, kind, at, us, rep, data = activity
                    fold_activity(kind, rep, day_of(us), at, data, ctx)
            except Exception:  # e.g. no FX rate: refused, as the live store refuses it
                stats.failed += 1

    def _fold_rows(self, rows: list[tuple[Any, ...]], records: list[RawValue]) -> None:
        """Scanned rows: de-duplicated as in _fold_decoded (the same claims, written inline
        again: a method call per row cost more than the claim), folded a column at a time."""
        assert self.columns is not None
        seg, stats = self.segment, self.stats
        bitmap, bits = self.flushed, self.bits
        kept = []
        ids: set[int] | None = None
        current = -1
        for row in rows:
            partition, _, value = records[row[1]]
            if partition != current:
                current = partition
                ids = seg.ids.setdefault(partition, set())
            assert ids is not None
            n = row[2]
            if n in ids:
                stats.duplicates += 1
                continue
            ids.add(n)
            if bitmap is not None:
                h = n % bits
                if bitmap[h >> 3] & (1 << (h & 7)):
                    seg.held.append((partition, decode_trusted(value)))
                    continue
            kept.append(row)
        refused = self.columns.fold(seg.aggregate, kept)
        if refused:  # a condition raised on the batch: record by record, refusals counted
            self._fold_refused([records[row[1]] for row in refused])

    def _fold_refused(self, records: list[RawValue]) -> None:
        """Fold records whose ids are already claimed (the refused rows), one at a time."""
        aggregate, ctx, day_of = self.segment.aggregate, self.ctx, self.days
        for _, _, value in records:
            try:
                activity = decode_activity(value, ACTIVITY_TYPES)  # type: ignore[arg-type]
                assert activity is not None
                _, kind, at, us, rep, data = activity
                aggregate.fold_activity(kind, rep, day_of(us), at, data, ctx)
            except Exception:  # as in _fold_decoded
                self.stats.failed += 1

    def estimate(self) -> int:
        """Bytes the segment holds, roughly (entries x per-kind size)."""
        seg = self.segment
        entries = sum(len(v) for v in vars(seg.aggregate).values())
        ids = sum(len(s) for s in seg.ids.values())
        return entries * ENTRY_BYTES + ids * ID_BYTES + len(seg.held) * EVENT_BYTES

    def full(self) -> bool:
        return self.estimate() > self.budget

    def flush(self) -> None:
        """Stage the segment (one transaction) and start an empty one."""
        seg = self.segment
        if not seg.last:
            return
        if seg.held:
            before = self.loader.seen_before([e.event_id for _, e in seg.held])
            for partition, event in seg.held:
                if event.event_id in before:
                    # a repeat of a flushed event: not counted, and its id not staged again
                    seg.ids[partition].discard(event.event_id.int)
                    self.stats.duplicates += 1
                    continue
                try:
                    seg.aggregate.fold_in(event, self.ctx)
                except Exception:  # as in add
                    self.stats.failed += 1
        # Credits from the facts this segment holds; the merge recomputes those of entities
        # whose facts are spread over several flushes.
        entities = seg.aggregate.settle(self.ctx)
        self.loader.flush(seg.aggregate, seg.ids, seg.last, entities)
        for ids in seg.ids.values():
            self.stats.folded += len(ids)
        # Marked in the bitmap when the next record arrives: after the last flush, never.
        self._unmarked += seg.ids.values()
        self.stats.flushes += 1
        self.segment = _Segment()


def build_ranges(
    ctx: FoldContext,
    loader: BulkLoader,
    bootstrap: str,
    topic: str,
    start: Mapping[int, int],
    end: Mapping[int, int],
    memory: int = DEFAULT_MEMORY,
) -> Iterator[int]:
    """Read [start, end) of each partition into staging (resuming after earlier flushes);
    yields the records read per batch."""
    build = BulkBuild(ctx, loader, memory)
    if any(start.get(p, 0) > 0 for p in end):
        build.resume(end)
    for batch in read_raw_ranges(bootstrap, topic, start, end, READ_BATCH):
        build.add(batch)
        yield len(batch)
        if build.full():
            build.flush()
    build.flush()
