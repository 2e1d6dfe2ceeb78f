"""Contract: PostgresProjectionStore answers every query exactly as the in-memory oracle does."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.batch import Record
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from projections.model.readmodel import ReadModel, RepSpan
from projections.postgres.store import PostgresProjectionStore
from projections.queries.behaviour import behaviour
from projections.queries.daily import daily_report
from projections.queries.funnel import funnel
from projections.queries.goals import goal_progress
from projections.queries.leaderboard import contest, leaderboard
from projections.queries.plan import plan
from schemas.events import AnyEvent
from tests.support.builders import Events
from tests.support.sample import random_history

pytestmark = pytest.mark.integration

CTX = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.0825")})
AS_OF = datetime(2026, 11, 20, 15, tzinfo=UTC)


@pytest.fixture
def store(database_url: str, pg_schema: str) -> Iterator[PostgresProjectionStore]:
    with PostgresProjectionStore(
        database_url, CTX, f"{pg_schema}_v1", registry_schema=f"{pg_schema}_registry"
    ) as s:
        s.migrate()
        yield s


def deliveries(events: list[AnyEvent], seed: int) -> list[list[Record]]:
    """The events spread over 3 partitions, some produced twice, delivered in shuffled batches
    that interleave partitions and re-deliver earlier offsets (as after a rebalance)."""
    rnd = random.Random(seed)
    partitions: dict[int, list[AnyEvent]] = {0: [], 1: [], 2: []}
    for event in events:
        key = event.rep_id or "org"
        partitions[sum(map(ord, key)) % 3].append(event)
        if rnd.random() < 0.03:  # a client resubmits: same event_id, new offset
            partitions[rnd.randrange(3)].append(event)
    log = {p: list(enumerate(evs)) for p, evs in partitions.items()}
    batches, position = [], dict.fromkeys(log, 0)
    while any(position[p] < len(log[p]) for p in log):
        batch: list[Record] = []
        for p in log:
            take = rnd.randint(0, 250)
            start = max(0, position[p] - rnd.choice([0, 0, 0, 50, 300]))
            batch += [(p, o, ev) for o, ev in log[p][start : position[p] + take]]
            position[p] = min(len(log[p]), position[p] + take)
        rnd.shuffle(batch)
        batches.append(batch)
    return batches


def raw_reads(rm: ReadModel) -> dict[str, Any]:
    reps = rm.reps()
    everything = [RepSpan(r, date(2000, 1, 1), date(2100, 1, 1)) for r in reps]
    return {
        "units": dict(rm.units()),
        "reps": dict(reps),
        "metric_days": rm.metric_days(list(CTX.kpis.metrics), everything),
        "metric_totals": rm.metric_totals(list(CTX.kpis.metrics), everything),
        "activities": rm.activity_totals(everything),
        "targets": rm.targets(),
        "history": [rm.target_history(t.scope, t.metric, t.period) for t in rm.targets()],
        "locks": rm.target_locks(),
        "opportunities": rm.opportunities(),
        "some_opportunities": rm.opportunities(["r003", "r004"]),
        "deal_wins": rm.deal_wins(),
        "rep_wins": rm.deal_wins(limit=5, rep_id="r002", start=date(2026, 10, 5)),
        "cheerers": [rm.cheerers(str(w.event_id)) for w in rm.deal_wins(limit=20)],
    }


def queries(ctx: FoldContext) -> dict[str, Callable[[ReadModel], Any]]:
    """Every query, over scopes and periods that include a transfer, a leaver, a late target."""
    k, tz = ctx.kpis, ctx.tz
    return {
        "goals company": lambda rm: goal_progress(rm, k, "company", "2026-11", AS_OF, tz),
        "goals unit t1": lambda rm: goal_progress(rm, k, "unit:t1", "2026-10", AS_OF, tz),
        "goals department": lambda rm: goal_progress(rm, k, "unit:d2", "2026-Q4", AS_OF, tz),
        "goals rep": lambda rm: goal_progress(rm, k, "rep:r005", "2026-11", AS_OF, tz),
        "funnel unit": lambda rm: funnel(rm, k, "unit:t2", "2026-11", AS_OF, tz),
        "funnel rep": lambda rm: funnel(rm, k, "rep:r002", "2026-10", AS_OF, tz),
        "behaviour": lambda rm: behaviour(rm, k, "unit:d1", "2026-11", AS_OF, tz),
        "plan": lambda rm: plan(rm, "rep:r006", "2026-11", AS_OF, tz),
        "daily": lambda rm: daily_report(rm, k, "r003", date(2026, 10, 20), tz),
        "leaderboard": lambda rm: leaderboard(rm, "revenue", "2026-10", AS_OF, tz),
        "leaderboard f2f": lambda rm: leaderboard(
            rm, "f2f_visits", "2026-W44", AS_OF, tz, "unit:d1"
        ),
        "contest": lambda rm: contest(rm, "revenue", "2026-10", ["t1", "t2", "t3"], AS_OF, tz),
    }


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])  # DST ends on 2026-11-01
def test_shuffled_batches_with_duplicates_and_replays_match_the_oracle(
    database_url: str, pg_schema: str, zone: str
) -> None:
    ctx = dataclasses.replace(CTX, tz=ZoneInfo(zone))
    events = random_history(seed=7, reps=12, days=60, tz=ctx.tz)
    oracle = build_oracle(events, ctx)
    schema, registry = f"{pg_schema}_v1", f"{pg_schema}_registry"
    with PostgresProjectionStore(database_url, ctx, schema, registry_schema=registry) as store:
        store.migrate()
        applied = 0
        for batch in deliveries(events, seed=7):
            applied += store.apply_batch(batch).applied
        assert applied == len({e.event_id for e in events})
        assert raw_reads(store) == raw_reads(oracle)
        with store.snapshot() as snapshot:
            for name, query in queries(ctx).items():
                assert query(snapshot) == query(oracle), name


@pytest.mark.parametrize("policy", ["restate", "clawback"])
def test_corrections_across_partitions_match_the_oracle(
    database_url: str, pg_schema: str, policy: str
) -> None:
    # Given a history where orders are amended, re-sent and cancelled, payments reversed, deals
    # reopened and credit split, by other reps (other partitions), some before what they
    # correct; when it is applied in shuffled, replayed batches, then every read is the oracle's.
    text = CTX.kpis.source.replace("version = 1", f'version = 2\ncorrections = "{policy}"')
    ctx = dataclasses.replace(CTX, kpis=parse_kpis(text))
    events = random_history(seed=11, reps=8, days=45, corrections=4)
    assert {"OrderCancelled", "CreditAssigned", "PaymentReversed"} <= {e.type for e in events}
    oracle = build_oracle(events, ctx)
    schema, registry = f"{pg_schema}_v2", f"{pg_schema}_registry"
    with PostgresProjectionStore(database_url, ctx, schema, registry_schema=registry) as store:
        store.migrate()
        for batch in deliveries(events, seed=11):
            store.apply_batch(batch)
        assert raw_reads(store) == raw_reads(oracle)
        with store.snapshot() as snapshot:
            for name, query in queries(ctx).items():
                assert query(snapshot) == query(oracle), name


@pytest.fixture(params=["memory", "postgres"])
def projection(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return InMemoryProjection(CTX)
    return request.getfixturevalue("store")


def test_apply_batch_contract_offsets_duplicates_dead_letters_and_failures(projection: Any) -> None:
    e = Events()
    a, b, c = (e.visit("r1", "2026-11-03") for _ in range(3))
    bad = e.order("r1", "2026-11-03", "5", currency="GBP")
    first = projection.apply_batch([(0, 0, a), (0, 1, b), (1, 0, a), (1, 1, None), (1, 2, bad)])
    assert (first.applied, first.duplicates, dict(first.offsets)) == (2, 1, {0: 1, 1: 2})
    assert [f.event_id for f in first.failed] == [bad.event_id]
    again = projection.apply_batch([(0, 0, a), (0, 1, b), (0, 2, c), (1, 2, bad), (2, 0, c)])
    assert (again.applied, again.skipped_offsets, again.duplicates) == (1, 3, 1)
    assert dict(again.offsets) == {0: 2, 1: 2, 2: 0}
    totals = projection.metric_totals(
        ["visits"], [RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))]
    )
    assert totals[("visits", "r1")].value == 3


def test_two_consumers_applying_the_same_records_count_them_once(
    store: PostgresProjectionStore, database_url: str
) -> None:
    # A rebalance zombie and the new owner of a partition apply the same batch concurrently.
    e = Events()
    records: list[Record] = [(0, i, e.visit("r1", "2026-11-03")) for i in range(500)]
    with PostgresProjectionStore(
        database_url, CTX, store.schema, registry_schema=store.registry_schema
    ) as other:
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda s=s: results.append(s.apply_batch(records).applied))
            for s in (store, other)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [0, 500]
    totals = store.metric_totals(["visits"], [RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))])
    assert totals[("visits", "r1")].value == 500


def test_a_batch_notifies_listeners_after_commit(
    store: PostgresProjectionStore, database_url: str
) -> None:
    e = Events()
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{store.channel}"')
        store.apply_batch([(0, 0, e.won("r1", "2026-11-03", "o1", 100))])
        (note,) = list(listener.notifies(timeout=5, stop_after=1))
    assert note.channel == store.channel
    assert '"applied":1' in note.payload and '"deal_wins":1' in note.payload


def test_a_copy_with_other_content_is_refused_recorded_and_the_first_copy_counts(
    projection: Any,
) -> None:
    # given a visit applied for r1, then the same event_id resubmitted for r2 (another batch)
    # and, in one batch, a third copy for r3 after an identical repeat
    e = Events()
    first = e.visit("r1", "2026-11-03")
    other = first.model_copy(update={"rep_id": "r2"})
    third = first.model_copy(update={"rep_id": "r3"})
    projection.apply_batch([(0, 0, first)])
    again = projection.apply_batch([(1, 0, other), (1, 1, first), (1, 2, third)])
    # then both differing copies are refused as conflicts (dead-lettered by the worker), the
    # identical one is a plain duplicate, and only the first copy counts
    assert [(f.partition, f.offset) for f in again.failed] == [(1, 0), (1, 2)]
    assert all("conflicting copy" in f.error for f in again.failed)
    assert again.applied == 0
    span = [RepSpan(r, date(2026, 11, 1), date(2026, 12, 1)) for r in ("r1", "r2", "r3")]
    totals = projection.metric_totals(["visits"], span)
    assert {rep: t.value for (_, rep), t in totals.items()} == {"r1": 1}
    assert projection.applied_fingerprints([first.event_id]).keys() == {first.event_id}


@pytest.mark.parametrize("lock_first", [True, False])
def test_a_target_set_after_its_lock_does_not_count_whichever_is_applied_first(
    projection: Any, lock_first: bool
) -> None:
    # given a target, then a lock, then 14 ms later a new TargetSet for the locked target
    # that got past the edge (its guard read projections that lagged), and an override
    e = Events()
    at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    before = e.target("unit:t1", "revenue", "2026-11", 100, at=at)
    lock = e.lock("unit:t1", "2026-11", at=at.replace(hour=10))
    late = e.target("unit:t1", "revenue", "2026-11", 999, at=at.replace(hour=10, microsecond=14000))
    other = e.target("unit:t1", "calls", "2026-11", 50, at=at.replace(hour=11))
    records: list[Record] = [(0, 0, before), (0, 1, late), (0, 2, other)]
    batches = [[(1, 0, lock)], records] if lock_first else [records, [(1, 0, lock)]]
    for batch in batches:
        projection.apply_batch(batch)
    # then the lock refuses the late TargetSets in either order: the current value stays 100
    current = {t.metric: t.value for t in projection.targets(scope="unit:t1", period="2026-11")}
    assert current == {"revenue": 100}
    # (the history still shows every TargetSet, refused or not)
    assert len(projection.target_history("unit:t1", "revenue", "2026-11")) == 2
