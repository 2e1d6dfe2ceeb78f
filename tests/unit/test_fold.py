"""The pure fold and the in-memory projection: deltas per event, buckets, dedupe, offsets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from projections.memory.oracle import build_oracle
from projections.memory.projection import InMemoryProjection
from projections.model.aggregate import Aggregate
from projections.model.batch import Prefolded, plan_batch, prefold
from projections.model.context import FoldContext, FxRateMissing
from projections.model.deltas import ActivityDelta, DealWonCandidate, MetricDelta
from projections.model.fold import EVENT_HANDLERS, fold
from projections.model.kpi import default_kpis, parse_kpis
from projections.model.readmodel import RepSpan
from schemas.events import EVENT_TYPES
from tests.support.builders import Events

KPIS = default_kpis()
CTX = FoldContext(KPIS, fx_rates={"EUR": Decimal("1.10")})
E = Events()


def metric_values(deltas: list) -> dict[str, Decimal]:
    return {d.metric: d.value for d in deltas if isinstance(d, MetricDelta)}


def credited_values(deltas: list) -> dict[str, Decimal]:
    """Metrics of orders, payments and outcomes: from the entity's facts, not per event."""
    aggregate = Aggregate()
    aggregate.add_all(deltas)
    aggregate.settle(CTX)
    return {c.metric: c.value for rows in aggregate.credits.values() for c in rows}


def test_every_event_type_has_exactly_one_handler() -> None:
    assert set(EVENT_HANDLERS) == set(EVENT_TYPES)


def test_a_key_account_face_to_face_visit_counts_for_visits_f2f_and_ka() -> None:
    deltas = fold(E.visit("r1", "2026-11-03T09:30", f2f=True, ka=True), CTX)
    assert metric_values(deltas) == {"visits": 1, "f2f_visits": 1, "ka_visits": 1}
    activity = [d for d in deltas if isinstance(d, ActivityDelta)]
    assert [(a.kind, a.subkind, a.quantity) for a in activity] == [("visit", "planned", 1)]


def test_a_phone_visit_is_not_face_to_face() -> None:
    assert metric_values(fold(E.visit("r1", "2026-11-03T09:30", f2f=False), CTX)) == {"visits": 1}


def test_an_order_in_eur_is_converted_to_the_base_currency() -> None:
    deltas = fold(E.order("r1", "2026-11-03", "1000.00", currency="EUR"), CTX)
    assert metric_values(deltas) == {}  # not per event: the order entity's credits
    assert credited_values(deltas) == {"revenue": Decimal("1100.0000"), "orders": 1}
    (win,) = [d for d in deltas if isinstance(d, DealWonCandidate)]
    assert win.amount == Decimal("1100") and win.source == "OrderSigned"


def test_an_amount_without_an_exchange_rate_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(FxRateMissing, match="GBP to USD"):
        fold(E.order("r1", "2026-11-03", "10", currency="GBP"), CTX)


def test_buckets_follow_occurred_at_in_the_org_time_zone() -> None:
    ctx = FoldContext(KPIS, tz=ZoneInfo("Asia/Shanghai"))
    # 23:30 in New York on the 3rd is 12:30 on the 4th in Shanghai.
    event = E(
        "CallLogged",
        "2026-11-03T23:30:00-05:00",
        "r1",
        call_id="c",
        account_id="a",
        duration_s=5,
        outcome="no_answer",
    )
    (delta,) = [d for d in fold(event, ctx) if isinstance(d, MetricDelta)]
    assert delta.day == date(2026, 11, 4)


def test_weights_and_filters_from_a_revised_kpi_file() -> None:
    # Revised rule: a visit counts only face to face and >= 20 min; key accounts count double.
    kpis = parse_kpis(
        """
        version = 2
        [metrics.visits]
        event = "VisitCompleted"
        measure = "count"
        where = ["face_to_face = true", "duration_min >= 20"]
        weights = [{ where = "key_account = true", factor = 2 }]
        """
    )
    ctx = FoldContext(kpis)
    assert metric_values(fold(E.visit("r", "2026-11-03", ka=True, duration_min=25), ctx)) == {
        "visits": 2
    }
    assert metric_values(fold(E.visit("r", "2026-11-03", duration_min=19), ctx)) == {}
    assert metric_values(fold(E.visit("r", "2026-11-03", f2f=False, duration_min=60), ctx)) == {}


def test_a_late_visit_revises_its_own_past_day() -> None:
    # Given visits on the 10th, when a visit of the 3rd is synced later,
    # then the 3rd gets it and the 10th is unchanged.
    events = [E.visit("r1", "2026-11-10T10:00"), E.visit("r1", "2026-11-10T11:00")]
    projection = build_oracle(events, CTX)
    projection.apply_event(E.visit("r1", "2026-11-03T10:00"))
    days = projection.metric_days(["visits"], [RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))])
    assert [(d.day, d.value) for d in days] == [(date(2026, 11, 3), 1), (date(2026, 11, 10), 2)]


def test_a_resubmitted_event_id_is_counted_once() -> None:
    visit = E.visit("r1", "2026-11-03")
    projection = build_oracle([visit, visit, visit], CTX)
    totals = projection.metric_totals(
        ["visits"], [RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))]
    )
    assert totals[("visits", "r1")].value == 1


def test_apply_batch_skips_replayed_offsets_and_repeated_event_ids() -> None:
    a, b, c = (E.visit("r1", "2026-11-03") for _ in range(3))
    projection = InMemoryProjection(CTX)
    first = projection.apply_batch([(0, 0, a), (0, 1, b), (1, 0, a)])
    assert (first.applied, first.duplicates, first.offsets) == (2, 1, {0: 1, 1: 0})
    # The same records again plus one new: the old ones are below the recorded offsets.
    second = projection.apply_batch([(0, 0, a), (0, 1, b), (0, 2, c), (1, 0, a)])
    assert (second.applied, second.skipped_offsets, second.offsets) == (1, 3, {0: 2, 1: 0})
    # The same event produced again at a new offset is still counted once.
    third = projection.apply_batch([(1, 1, c)])
    assert (third.applied, third.duplicates) == (0, 1)
    totals = projection.metric_totals(
        ["visits"], [RepSpan("r1", date(2026, 11, 1), date(2026, 12, 1))]
    )
    assert totals[("visits", "r1")].value == 3


def test_a_dead_lettered_record_only_moves_the_offset_and_a_bad_one_is_reported() -> None:
    bad = E.order("r1", "2026-11-03", "5", currency="GBP")
    plan = plan_batch([(0, 5, None), (0, 6, bad)], {}, CTX)
    assert plan.offsets == {0: 6} and plan.folded == {}
    assert [f.event_id for f in plan.failed] == [bad.event_id]
    assert "GBP" in plan.failed[0].error


def test_a_batch_folded_ahead_plans_exactly_like_one_folded_in_the_plan() -> None:
    # given records with a dead letter, a bad event, an in-batch repeat and skipped offsets
    bad = E.order("r1", "2026-11-03", "5", currency="GBP")
    visit, call = E.visit("r1", "2026-11-03"), E.call("r2", "2026-11-04")
    records = [(0, 3, visit), (0, 4, None), (0, 5, bad), (1, 0, call), (1, 1, call), (0, 6, visit)]
    recorded = {0: 3}
    plain = plan_batch(records, recorded, CTX)
    # when the same records are folded ahead under the same context
    ahead = plan_batch(records, recorded, CTX, prefold(records, CTX))
    # then the plan is the same, the bad event refused the same way
    assert vars(ahead) == vars(plain)
    assert [f.event_id for f in ahead.failed] == [bad.event_id]
    assert (ahead.skipped_offsets, ahead.duplicates) == (1, 1)


def test_a_fold_made_ahead_is_used_only_for_its_records_and_its_context() -> None:
    visit = E.visit("r1", "2026-11-03")
    records = [(0, 0, visit)]
    marker: list = [MetricDelta("marker", "r1", date(2026, 11, 3), Decimal(1), visit.occurred_at)]
    planted = Prefolded(records, CTX, [(marker, b"p" * 16)])
    # the records and context it was made for: taken as it is (not folded again)
    assert plan_batch(records, {}, CTX, planted).folded[visit.event_id] == marker
    # a copy of the records (a bisected half) or another version's context: folded in the plan
    other = FoldContext(KPIS, fx_rates={"EUR": Decimal("1.20")})
    for recs, ctx in ((list(records), CTX), (records, other)):
        assert plan_batch(recs, {}, ctx, planted).folded[visit.event_id] == fold(visit, ctx)


def test_a_won_deal_is_a_broadcast_candidate_with_its_source_event_id() -> None:
    won = E.won("r1", "2026-11-03T15:00", "o-1", "12500.00")
    (candidate,) = [d for d in fold(won, CTX) if isinstance(d, DealWonCandidate)]
    assert candidate.event_id == won.event_id
    assert (candidate.rep_id, candidate.amount, candidate.opportunity_id) == ("r1", 12500, "o-1")
