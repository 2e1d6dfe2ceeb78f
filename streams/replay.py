"""The replay driver: build a projection version from offset 0 with the bulk reader, same fold.

It registers the version (status `building`), applies the log from the version's own tracked
offsets (so a killed replay resumes where it stopped, not from zero), re-reads the log's end
until it has caught up, and marks the version `ready`: from then on the live workers keep it
current beside the active one. It never announces anything (no announcer is passed).

With `processes` > 1 the partitions are split between that many processes (each with its own
reader, fold and connection): one Python process is bound to one core, and the store's
per-partition offsets and sorted upserts make concurrent writers safe.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from infra.collector import collector_paused
from infra.offsets import end_offsets
from projections.model.context import FoldContext
from projections.postgres.registry import list_versions
from projections.postgres.store import PostgresProjectionStore
from streams.bulk_reader import read_ranges

Progress = Callable[[int, int], None]  # (events applied so far, events in the log now)

DEFAULT_BATCH_SIZE = 20_000


class ReplayError(RuntimeError):
    """A replay process failed; what it applied is kept, and the next run resumes from it."""


@dataclass(frozen=True)
class ReplayResult:
    version: int
    schema: str
    applied: int  # events newly applied by this run
    records: int  # log records read by this run
    status: str


@dataclass(frozen=True)
class _Part:
    """What one replay process needs: everything picklable, no open connection."""

    conninfo: str
    ctx: FoldContext
    schema: str
    registry_schema: str
    bootstrap: str
    topic: str
    start: Mapping[int, int]
    end: Mapping[int, int]
    batch_size: int


def replay(
    store: PostgresProjectionStore,
    bootstrap: str,
    topic: str,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    processes: int = 1,
) -> ReplayResult:
    """Bring `store`'s version up to the log's end, then mark it ready (unless it is active)."""
    applied = records = 0
    collector = _Collections()
    with collector_paused(freeze=True):
        while True:
            end = end_offsets(bootstrap, topic)
            start = {p: o + 1 for p, o in store.offsets().items()}
            total, done = sum(end.values()), sum(min(start.get(p, 0), e) for p, e in end.items())
            if progress:
                progress(done, total)
            todo = {p: e for p, e in end.items() if start.get(p, 0) < e}
            if not todo:
                break  # caught up with the end as it was a moment ago
            part = _Part(
                store.conninfo, store.ctx, store.schema, store.registry_schema,
                bootstrap, topic, start, todo, batch_size,
            )  # fmt: skip
            for batch_applied, batch_records in _run(store, part, processes):
                applied += batch_applied
                records += batch_records
                done += batch_records
                if progress:
                    progress(done, total)
                collector.after(records)
    version = store.ctx.kpis.version
    store.mark_ready()
    status = next(
        v.status for v in list_versions(store.conn, store.registry_schema) if v.version == version
    )
    return ReplayResult(version, store.schema, applied, records, status)


def _run(store: PostgresProjectionStore, part: _Part, processes: int) -> Iterator[tuple[int, int]]:
    """(events applied, records read) per batch, from this process or from `processes`."""
    groups = _split(part, processes)
    if len(groups) <= 1:
        for batch in read_ranges(part.bootstrap, part.topic, part.start, part.end, part.batch_size):
            yield store.apply_healing(batch).applied, len(batch)
        return
    yield from _in_processes(groups)


def _split(part: _Part, processes: int) -> list[_Part]:
    """Partitions dealt to at most `processes` groups, largest remaining ranges first."""
    left = {p: e - part.start.get(p, 0) for p, e in part.end.items()}
    n = max(1, min(processes, len(left)))
    groups: list[dict[int, int]] = [{} for _ in range(n)]
    sizes = [0] * n
    for p in sorted(left, key=lambda p: -left[p]):
        i = sizes.index(min(sizes))
        groups[i][p] = part.end[p]
        sizes[i] += left[p]
    return [replace(part, start={p: part.start.get(p, 0) for p in g}, end=g) for g in groups if g]


def _in_processes(groups: list[_Part]) -> Iterator[tuple[int, int]]:
    # spawn, not fork: the parent holds connections and threads a fork would copy.
    mp = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[Any] = mp.Queue()
    procs = [
        mp.Process(target=_replay_part, args=(g, reports, os.getpid()), daemon=True) for g in groups
    ]
    for proc in procs:
        proc.start()
    try:
        running = len(procs)
        while running:
            try:
                kind, *rest = reports.get(timeout=1.0)
            except queue.Empty:
                failed = [p for p in procs if p.exitcode not in (None, 0)]
                if failed:
                    raise ReplayError(
                        f"replay process {failed[0].pid} died (exit code {failed[0].exitcode})"
                    ) from None
                continue
            if kind == "batch":
                yield rest[0], rest[1]
            elif kind == "done":
                running -= 1
            else:
                raise ReplayError(f"a replay process failed: {rest[0]}")
        for proc in procs:
            proc.join()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(10)


def _replay_part(part: _Part, reports: Any, parent: int) -> None:
    """A replay process: its partitions' ranges through its own store, reported per batch."""
    _die_with(parent)
    try:
        gc.disable()
        with PostgresProjectionStore(
            part.conninfo, part.ctx, part.schema, registry_schema=part.registry_schema
        ) as store:
            records, collector = 0, _Collections()
            for batch in read_ranges(
                part.bootstrap, part.topic, part.start, part.end, part.batch_size
            ):
                reports.put(("batch", store.apply_healing(batch).applied, len(batch)))
                records += len(batch)
                collector.after(records)
    except BaseException as exc:
        reports.put(("error", f"{type(exc).__name__}: {exc}"))
        raise
    reports.put(("done",))


def _die_with(parent: int) -> None:
    """A replay killed with SIGKILL must not leave its processes writing on (Linux: prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


COLLECT_EVERY = 200_000  # records between two collections while the collector is paused


class _Collections:
    """Paused is not off: a few objects do form cycles (asyncio, exceptions), so collect them
    every COLLECT_EVERY records, and memory stays bounded however long the log is."""

    def __init__(self) -> None:
        self.last = 0

    def after(self, records: int) -> None:
        if records - self.last >= COLLECT_EVERY:
            self.last = records
            gc.collect()
