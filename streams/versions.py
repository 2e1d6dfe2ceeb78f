"""The projection versions the live worker writes: the active one, plus replays that caught up."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import psycopg

from projections.model.batch import AppliedResult, Prefolded, Record
from projections.model.context import FoldContext
from projections.model.kpi import parse_kpis
from projections.postgres.isolation import merged
from projections.postgres.registry import list_versions
from projections.postgres.store import PostgresProjectionStore, WithinBatch
from streams.bulk_reader import read_ranges

REFRESH_S = 1.0


class LiveVersions:
    """Opens a store per live version (from the registry) and applies each batch to all of them.

    A `ready` version joins mid-stream, so the first batch it sees may start past its own
    offsets: the gap is read from the log first (the bulk reader), so it never skips events.
    """

    def __init__(
        self, conninfo: str, registry_schema: str, ctx: FoldContext, bootstrap: str, topic: str
    ) -> None:
        self.conninfo, self.registry_schema, self.ctx = conninfo, registry_schema, ctx
        self.bootstrap, self.topic = bootstrap, topic
        self._conn: psycopg.Connection[Any] = psycopg.connect(conninfo, autocommit=True)
        self._stores: dict[int, PostgresProjectionStore] = {}
        self._known: dict[int, dict[int, int]] = {}  # version -> partition -> recorded offset
        self._active: int | None = None
        self._refreshed = 0.0

    def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._refreshed < REFRESH_S:
            return
        self._refreshed = time.monotonic()
        live = {
            v.version: v
            for v in list_versions(self._registry(), self.registry_schema)
            if v.status in ("active", "ready")
        }
        for version in set(self._stores) - set(live):
            self._stores.pop(version).close()
            self._known.pop(version, None)
        for version, info in live.items():
            if version not in self._stores:
                ctx = replace(self.ctx, kpis=parse_kpis(info.kpis_toml, f"version {version}"))
                store = PostgresProjectionStore(
                    self.conninfo, ctx, info.schema_name, registry_schema=self.registry_schema
                )
                store.migrate(activate_if_none=False)  # new migrations reach existing versions
                self._stores[version] = store
        self._active = next((v for v, i in live.items() if i.status == "active"), None)

    def _registry(self) -> psycopg.Connection[Any]:
        """The registry connection, reopened when the server dropped it."""
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def heal(self) -> None:
        """After a failed batch: reopen every connection the server dropped (a PostgreSQL
        restart), so the worker carries on by itself once the server is back."""
        self._registry()
        self._known.clear()  # what was committed may be gone: ask the stores again
        for store in self._stores.values():
            store.heal()

    @property
    def schemas(self) -> list[str]:
        return [s.schema for _, s in sorted(self._stores.items())]

    @property
    def active(self) -> PostgresProjectionStore | None:
        return self._stores.get(self._active) if self._active is not None else None

    def apply(
        self,
        records: list[Record],
        hook_for_active: WithinBatch | None,
        ahead: Prefolded | None = None,
    ) -> AppliedResult:
        """Apply to every live version; the active version's result is returned. `ahead`:
        the records folded under the active version's context before the transaction."""
        self.refresh()
        result = AppliedResult()
        for version, store in sorted(self._stores.items()):
            hook = hook_for_active if version == self._active else None
            filled = self._fill_gap(version, store, records, hook)
            applied = merged(filled, store.apply_batch(records, hook, ahead))
            self._known.setdefault(version, {}).update(applied.offsets)
            if version == self._active:
                result = applied
        return result

    def catch_up(
        self, positions: Mapping[int, int], hook_for_active: WithinBatch | None = None
    ) -> AppliedResult:
        """When the log is idle: check the live versions against the store, fill what is missing.

        The active version up to `positions` (partition -> the next offset this worker's
        consumer reads: everything before it was handed to the store). A commit PostgreSQL
        lost in a crash (synchronous_commit=off), or a partition the consumer resumed past
        the store's offsets (Kafka's committed offset ahead of the store's), would otherwise
        stay missing until that partition's next record arrives, which on a quiet log may
        be never. Ready versions up to what the active one has applied: a version that
        turned ready after the worker's last batch would otherwise wait for the next record.
        The active version's result is returned (its announcements are the worker's to relay).
        """
        self.refresh(force=True)
        active = self.active
        if active is None or self._active is None:
            return AppliedResult()
        self._known.clear()  # idle: ask the stores, not this worker's memory of its commits
        mine: list[Record] = [(p, o, None) for p, o in sorted(positions.items())]
        result = self._fill_gap(self._active, active, mine, hook_for_active)
        target: list[Record] = [(p, o + 1, None) for p, o in sorted(active.offsets().items())]
        for version, store in sorted(self._stores.items()):
            if version != self._active and target:
                self._fill_gap(version, store, target, None)
        return result

    def _fill_gap(
        self,
        version: int,
        store: PostgresProjectionStore,
        records: list[Record],
        hook: WithinBatch | None,
    ) -> AppliedResult:
        """Apply what the log holds between the version's recorded offsets and this batch.

        A `ready` version joins mid-stream; and after a database crash the recorded offsets
        can be behind what this worker believed applied (commits lost with
        synchronous_commit=off, or a failover): the consumer's position is then past them,
        so the gap is read from the log here, never skipped. The offsets this worker saw
        recorded are remembered, so the usual contiguous batch costs no query."""
        first: dict[int, int] = {}
        for partition, offset, _ in records:
            first[partition] = min(offset, first.get(partition, offset))
        known = self._known.setdefault(version, {})
        if all(p in known and o <= known[p] + 1 for p, o in first.items()):
            return AppliedResult()
        applied: Mapping[int, int] = store.offsets()
        known.update(applied)
        start = {p: applied.get(p, -1) + 1 for p in first}
        end = {p: o for p, o in first.items() if start[p] < o}
        result = AppliedResult()
        for batch in read_ranges(self.bootstrap, self.topic, start, end):
            result = merged(result, store.apply_batch(batch, hook))
        return result

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._conn.close()
