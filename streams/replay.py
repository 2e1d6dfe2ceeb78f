"""The replay driver: build a projection version from offset 0 in bulk, then hand it over.

A version with nothing applied yet is built in bulk (streams.bulk_build): its partitions are
dealt to `processes` processes, each reading its ranges with large fetches, de-duplicating
event ids per partition in memory and folding into in-memory aggregates, flushed to unindexed
staging tables when they pass `memory` bytes; then one merge (projections.postgres.bulk)
writes the tables, the applied ids and the end offsets the build read to, and builds the
indexes. An event id read on two partitions cannot be de-duplicated that way
(bulk_merge.SharedIds): the bulk build is then given up and the catch-up below builds the
version from offset 0, exactly, through the live store's path. A replay killed at any point
resumes from its last flush, or redoes the merge.

Then it catches up through the live store's path (apply_healing from the recorded offsets) until
a round takes at most `within_s` seconds, so it is that close to a head that may keep moving,
and marks the version `ready`: from there the live workers keep it current (their gap fill
reads from the same offsets). It never announces anything (no announcer is passed).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from infra.collector import collector_paused
from infra.offsets import end_offsets
from projections.model.context import FoldContext
from projections.postgres.bulk import EXACT_ONLY, BulkLoader, qualified, table_exists
from projections.postgres.bulk_merge import SharedIds, merge_staged
from projections.postgres.registry import active_version, list_versions
from projections.postgres.store import PostgresProjectionStore
from streams.bulk_build import DEFAULT_MEMORY, build_ranges
from streams.bulk_reader import read_ranges

log = logging.getLogger(__name__)

# (phase, done, total): phase "read" and "catch-up" count records, "merge" counts steps.
Progress = Callable[[str, int, int], None]

DEFAULT_BATCH_SIZE = 20_000  # records per transaction while catching up
DEFAULT_WITHIN_S = 5.0


class ReplayError(RuntimeError):
    """A replay process failed; what it flushed is kept, and the next run resumes from it."""


@dataclass(frozen=True)
class ReplayResult:
    version: int
    schema: str
    applied: int  # events newly applied by this run
    records: int  # log records read by this run
    status: str
    offsets: Mapping[int, int]  # the last offset per partition the version was built to
    seconds: Mapping[str, float]  # per phase: read, merge, catch-up


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
    memory: int = DEFAULT_MEMORY


def replay(
    store: PostgresProjectionStore,
    bootstrap: str,
    topic: str,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    processes: int = 1,
    memory: int = DEFAULT_MEMORY,
    within_s: float = DEFAULT_WITHIN_S,
) -> ReplayResult:
    """Bring `store`'s version to within `within_s` of the log's head, then mark it ready."""
    report = progress or (lambda phase, done, total: None)
    applied = records = 0
    seconds = {"read": 0.0, "merge": 0.0, "catch-up": 0.0}
    clock = time.monotonic()
    with collector_paused(freeze=True):
        if _buildable(store):
            end = end_offsets(bootstrap, topic)
            with BulkLoader(store.conninfo, store.schema) as loader:
                # A merge that began is finished first: reading on would stage rows into
                # tables it has merged already (what arrived meanwhile is the catch-up's).
                merging = loader.merging()
                if not merging:
                    loader.prepare()
                start = {p: o + 1 for p, o in loader.staged_offsets().items()}
                part = _Part(
                    store.conninfo, store.ctx, store.schema, store.registry_schema,
                    bootstrap, topic, start, end, batch_size, memory,
                )  # fmt: skip
                total = sum(end.values())
                done = sum(min(start.get(p, 0), e) for p, e in end.items())
                report("read", done, total)
                for n in () if merging else _build(part, processes):
                    records += n
                    done += n
                    report("read", done, total)
                seconds["read"] = time.monotonic() - clock
                try:
                    applied = merge_staged(
                        store.conninfo, store.schema, store.ctx,
                        lambda s, i, n: report("merge", i, n), _reference(store),
                    )  # fmt: skip
                except SharedIds as exc:
                    # Rare, and exact only through the live store's path (its ids are
                    # global): the catch-up below builds the version from offset 0.
                    log.warning("%s: building version %s through the live path", exc, store.schema)
                    loader.abandon()
                seconds["merge"] = time.monotonic() - clock - seconds["read"]
        clock = time.monotonic()
        tail = _catch_up(store, bootstrap, topic, report, batch_size, within_s)
        seconds["catch-up"] = time.monotonic() - clock
    store.mark_ready()
    version = store.ctx.kpis.version
    status = next(
        v.status for v in list_versions(store.conn, store.registry_schema) if v.version == version
    )
    return ReplayResult(
        store.ctx.kpis.version, store.schema, applied + tail[0], records + tail[1], status,
        store.offsets(), seconds,
    )  # fmt: skip


def _buildable(store: PostgresProjectionStore) -> bool:
    """Only a version being built that has applied nothing yet is built in bulk (and not one
    whose bulk build was given up: bulk_merge.SharedIds)."""
    version = store.ctx.kpis.version
    info = next(v for v in list_versions(store.conn, store.registry_schema) if v.version == version)
    if info.status != "building" or store.offsets():
        return False
    given_up = table_exists(store.conn, qualified(store.schema, EXACT_ONLY))
    return not given_up


def _reference(store: PostgresProjectionStore) -> str | None:
    """The active version's schema: built from the same log, it has the events' fingerprints
    and conflicts, which the bulk build does not compute."""
    active = active_version(store.conn, store.registry_schema)
    return active.schema_name if active and active.schema_name != store.schema else None


def _catch_up(
    store: PostgresProjectionStore, bootstrap: str, topic: str, report: Progress,
    batch_size: int, within_s: float,
) -> tuple[int, int]:  # fmt: skip
    """Apply what arrived meanwhile until one round (to the end as it was) takes <= within_s."""
    applied = records = 0
    collector = _Collections()
    while True:
        started = time.monotonic()
        end = end_offsets(bootstrap, topic)
        start = {p: o + 1 for p, o in store.offsets().items()}
        todo = {p: e for p, e in end.items() if start.get(p, 0) < e}
        total = sum(e - start.get(p, 0) for p, e in todo.items())
        done = 0
        for batch in read_ranges(bootstrap, topic, start, todo, batch_size):
            applied += store.apply_healing(batch).applied
            records += len(batch)
            done += len(batch)
            report("catch-up", done, total)
            collector.after(records)
        if time.monotonic() - started <= within_s:
            return applied, records


def _build(part: _Part, processes: int) -> Iterator[int]:
    """Records read per report, from this process or from `processes` processes."""
    groups = _split(part, processes)
    if len(groups) == 1:
        yield from _build_part(groups[0])
    elif groups:
        yield from _in_processes(groups)


def _build_part(part: _Part) -> Iterator[int]:
    collector, records = _Collections(), 0
    with BulkLoader(part.conninfo, part.schema) as loader:
        for n in build_ranges(
            part.ctx, loader, part.bootstrap, part.topic, part.start, part.end, part.memory
        ):
            records += n
            collector.after(records)
            yield n


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


def _in_processes(groups: list[_Part]) -> Iterator[int]:
    # fork, not spawn: a spawned child spent ~1.3 s (2 cores: 1 in 28 of a 1M-event replay)
    # importing again what the parent has imported. A forked child uses none of the parent's
    # connections and leaves through os._exit (multiprocessing's), so nothing inherited is
    # closed or flushed twice; the parent runs no thread of its own while it forks.
    mp = multiprocessing.get_context("fork")
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
            if kind == "read":
                yield rest[0]
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
    """A replay process: its partitions' ranges built into staging, reported per batch."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to report
    try:
        gc.disable()
        for n in _build_part(part):
            reports.put(("read", n))
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


FREEZE_EVERY = 200_000  # records between two freezes while the collector is paused
COLLECT_EVERY = 5_000_000  # records between two cyclic collections


class _Collections:
    """Paused is not off: a few objects do form cycles (asyncio, exceptions), so collect them
    every COLLECT_EVERY records, and memory stays bounded however long the log is.

    In between, every FREEZE_EVERY records, what was allocated meanwhile is frozen: a
    collection walks every tracked object not frozen, and the in-memory aggregate is millions
    of them (unfrozen, full collections took 9 % of a replay's time; a collection every 200k
    records, of what the last 200k allocated, still took 0.4-0.7 s each, 7 % of a 1-process
    replay, and found nothing after the first). Frozen objects are still freed by reference
    counting when a flush drops them; a cycle among them waits for the end of the replay."""

    def __init__(self) -> None:
        self.frozen = self.collected = 0

    def after(self, records: int) -> None:
        if records - self.frozen < FREEZE_EVERY:
            return
        self.frozen = records
        if records - self.collected >= COLLECT_EVERY:
            self.collected = records
            gc.collect()
        gc.freeze()
