"""The replay driver: build a projection version from offset 0 with the bulk reader, same fold.

It registers the version (status `building`), applies the log from the version's own tracked
offsets (so a killed replay resumes where it stopped, not from zero), re-reads the log's end
until it has caught up, and marks the version `ready`: from then on the live workers keep it
current beside the active one. It never announces anything (no announcer is passed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from producers.lag import end_offsets
from projections.registry import list_versions, mark_ready
from projections.store import PostgresProjectionStore
from streams.bulk_reader import read_ranges

Progress = Callable[[int, int], None]  # (events applied so far, events in the log now)


@dataclass(frozen=True)
class ReplayResult:
    version: int
    schema: str
    applied: int  # events newly applied by this run
    records: int  # log records read by this run
    status: str


def replay(
    store: PostgresProjectionStore,
    bootstrap: str,
    topic: str,
    progress: Progress | None = None,
    batch_size: int = 10_000,
) -> ReplayResult:
    """Bring `store`'s version up to the log's end, then mark it ready (unless it is active)."""
    applied = records = 0
    while True:
        end = end_offsets(bootstrap, topic)
        start = {p: o + 1 for p, o in store.offsets().items()}
        total, done = sum(end.values()), sum(min(start.get(p, 0), e) for p, e in end.items())
        if progress:
            progress(done, total)
        if all(start.get(p, 0) >= e for p, e in end.items()):
            break  # caught up with the end as it was a moment ago
        for batch in read_ranges(bootstrap, topic, start, end, batch_size):
            result = store.apply_batch(batch)
            applied += result.applied
            records += len(batch)
            done += len(batch)
            if progress:
                progress(done, total)
    version = store.ctx.kpis.version
    mark_ready(store._write, version, store.registry_schema)
    store._write.commit()
    status = next(
        v.status for v in list_versions(store.conn, store.registry_schema) if v.version == version
    )
    return ReplayResult(version, store.schema, applied, records, status)
