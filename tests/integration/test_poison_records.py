"""Poison-pill isolation in the store: a record PostgreSQL cannot take stops nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.model.readmodel import RepSpan
from projections.postgres.store import PostgresProjectionStore
from schemas.events import AnyEvent
from tests.support.builders import Events

pytestmark = pytest.mark.integration

CTX = FoldContext(default_kpis(), fx_rates={"EUR": Decimal("1.0825")})


@pytest.fixture
def store(database_url: str, pg_schema: str) -> Iterator[PostgresProjectionStore]:
    with PostgresProjectionStore(
        database_url, CTX, f"{pg_schema}_v1", registry_schema=f"{pg_schema}_registry"
    ) as s:
        s.migrate()
        yield s


def _nul_in_rep_id(e: Events) -> AnyEvent:
    # Built past validation on purpose: the store must hold even if the edge lets one by.
    return e.visit("r2", "2026-11-03").model_copy(update={"rep_id": "r2\x00x"})


def _first_day_of_the_calendar(e: Events) -> AnyEvent:
    at = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    return e.visit("r2", "2026-11-03").model_copy(update={"occurred_at": at})


def _last_day_of_the_calendar(e: Events) -> AnyEvent:
    at = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    return e.visit("r2", "2026-11-03").model_copy(update={"occurred_at": at})


@pytest.mark.parametrize(
    "make_poison", [_nul_in_rep_id, _first_day_of_the_calendar, _last_day_of_the_calendar]
)
def test_given_a_poison_record_in_a_batch_when_applied_then_only_it_fails_and_the_rest_counts(
    store: PostgresProjectionStore, make_poison: Any
) -> None:
    # given nine good visits on two partitions and one record the database cannot store
    e = Events()
    good = [e.visit("r1", "2026-11-03") for _ in range(9)]
    poison = make_poison(e)
    records = [(i % 2, i // 2, ev) for i, ev in enumerate(good[:5])]
    records += [(1, 10, poison)] + [(0, 10 + i, ev) for i, ev in enumerate(good[5:])]

    # when the batch is applied (before the fix: it raised, and the worker retried forever)
    result = store.apply_batch(records)

    # then the poison is reported, every other event counts and both partitions move on
    assert [f.event_id for f in result.failed] == [poison.event_id]
    assert result.failed[0].offset == 10 and result.failed[0].partition == 1
    assert result.applied == 9
    assert store.offsets() == {0: 13, 1: 10}
    span = RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))
    assert store.metric_totals(["visits"], [span])[("visits", "r1")].value == 9
    # and applying the same records again adds nothing and fails nothing new
    again = store.apply_batch(records)
    assert (again.applied, again.failed) == (0, ())
