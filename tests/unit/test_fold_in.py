"""Aggregate.fold_in (the replay's hot path) equals add_all(fold(...)), the oracle's path."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from projections.model.aggregate import Aggregate
from projections.model.context import FoldContext
from projections.model.fold import ACTIVITY_ONLY, fold
from projections.model.kpi import default_kpis, load_kpis
from schemas.codec import encode
from schemas.events import EVENT_TYPES
from schemas.trusted import decode_trusted
from tests.support.sample import random_history

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _state(a: Aggregate) -> str:
    # repr, not ==: Decimal("1.0") == Decimal("1.00"), and the store writes what it holds;
    # sorted: the order rows were first met in is not written anywhere (COPY, then GROUP BY)
    return repr(
        {
            name: sorted(t.items()) if isinstance(t, dict) else sorted(t)
            for name, t in vars(a).items()
        }
    )


@pytest.mark.parametrize("kpis", ["v1", "v2_revised"])
def test_fold_in_merges_every_event_type_as_add_all_of_fold_does(kpis: str) -> None:
    definitions = (
        default_kpis() if kpis == "v1" else load_kpis(ROOT / "examples/kpis/v2_revised.toml")
    )
    ctx = FoldContext(definitions, tz=SHANGHAI, fx_rates={"EUR": Decimal("1.0800")})
    history = random_history(seed=5, tz=SHANGHAI, corrections=4.0)
    assert {e.type for e in history} == set(EVENT_TYPES), "the sample covers every event type"
    assert set(ACTIVITY_ONLY) <= set(EVENT_TYPES)
    for events in (history, [decode_trusted(encode(e)) for e in history]):
        oracle, fast = Aggregate(), Aggregate()
        for event in events:
            oracle.add_all(fold(event, ctx))
            fast.fold_in(event, ctx)
        assert oracle.metrics and oracle.activities
        assert _state(fast) == _state(oracle)


def test_an_event_fold_refuses_changes_nothing() -> None:
    ctx = FoldContext(load_kpis(ROOT / "examples/kpis/v2_revised.toml"))  # no EUR rate
    history = random_history(seed=6)
    oracle, fast, refused = Aggregate(), Aggregate(), 0
    for event in history:
        try:
            deltas = fold(event, ctx)
        except Exception:
            refused += 1
            with pytest.raises(Exception):  # noqa: B017 - the same error as fold's, whatever it is
                fast.fold_in(event, ctx)
            continue
        oracle.add_all(deltas)
        fast.fold_in(event, ctx)
    assert refused > 0, "the sample has EUR amounts"
    assert _state(fast) == _state(oracle)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata", "America/New_York"])
def test_the_bulk_builds_activity_lane_merges_as_fold_in_does(zone: str) -> None:
    # BulkBuild.add folds calls, visits and leads from decode_activity's parts with the hour
    # cache of local days (LocalDays); every other type through decode_trusted and fold_in
    from streams.bulk_build import BulkBuild

    tz = ZoneInfo(zone)
    ctx = FoldContext(
        load_kpis(ROOT / "examples/kpis/v2_revised.toml"), tz=tz, fx_rates={"EUR": Decimal("1.08")}
    )
    history = random_history(seed=8, tz=tz, corrections=3.0, start=date(2026, 10, 20))
    assert {e.type for e in history} >= set(ACTIVITY_ONLY)
    values = [encode(e) for e in history]
    build = BulkBuild(ctx, loader=None, memory=1 << 30)  # type: ignore[arg-type]
    build.add([(0, i, v) for i, v in enumerate(values)])
    first: dict[object, object] = {}
    for e in history:  # the build folds the first copy of an id
        first.setdefault(e.event_id, e)
    oracle = Aggregate()
    for e in first.values():
        oracle.fold_in(decode_trusted(encode(e)), ctx)  # type: ignore[arg-type]
    assert _state(build.segment.aggregate) == _state(oracle)
