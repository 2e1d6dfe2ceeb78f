"""Target decomposition: hand-worked splits, exactness, pro-rating, idempotence and the CLI."""

from __future__ import annotations

import argparse
import json
import shlex
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from projections.memory.projection import InMemoryProjection
from projections.model.context import default_context
from projections.targets.decomposition import (
    DecompositionError,
    Presence,
    SplitRequest,
    allocate,
    child_event_id,
    decompose,
)
from projections.targets.decomposition.prorate import prorated_allocation
from projections.targets.decomposition.source import member_reps, org_children, reference_shares
from salespulse.commands import targets
from schemas.events import parse_event
from schemas.periods import parse_period
from tests.support.builders import Events

AT = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
D = Decimal


YEAR: dict[str, Any] = dict(scope="company", metric="revenue", period="2026")
TEAM: dict[str, Any] = dict(scope="unit:t1", metric="revenue", period="2026-11", into="reps")
THREE = ["rep:a", "rep:b", "rep:c"]


def values(**kw: Any) -> list[str]:
    return [str(a.value) for a in decompose(SplitRequest(**kw)).allocations]


def test_given_a_year_when_split_into_quarters_by_1_2_3_4_then_tenths() -> None:
    got = values(**YEAR, value="1000000.00", into="quarters", by="weights", weights=list("1234"))
    assert got == ["100000.00", "200000.00", "300000.00", "400000.00"]


def test_given_a_month_split_evenly_over_three_reps_then_the_last_gets_the_spare_cent() -> None:
    # 10,000,000 cents / 3 = 3,333,333 1/3 each: the floors leave 1 cent over, all three
    # remainders tie at 1/3 cent, and rounding.py gives ties to the later child.
    assert values(**TEAM, value="100000.00", children=THREE) == ["33333.33", "33333.33", "33333.34"]


def test_given_largest_remainders_when_allocating_then_they_win_before_ties() -> None:
    # 1.00 by 1:1:1:2 is exact: 0.20, 0.20, 0.20, 0.40, nothing left to place.
    assert allocate(D("1.00"), [D(1), D(1), D(1), D(2)], D("0.01")) == [D("0.20")] * 3 + [D("0.40")]
    # 0.05 by 1:3 -> 0.0125 / 0.0375: floors 1 + 3 = 4 cents, remainders 1/4 and 3/4 cent:
    # the spare cent goes to the larger remainder, whichever position it has.
    assert allocate(D("0.05"), [D(1), D(3)], D("0.01")) == [D("0.01"), D("0.04")]
    assert allocate(D("0.05"), [D(3), D(1)], D("0.01")) == [D("0.04"), D("0.01")]
    assert allocate(D("100000"), [D(1)] * 3, D("1")) == [D(33333), D(33333), D(33334)]


# November 2026 by hand: 1 Nov is a Sunday, so the weekdays are 2-6, 9-13, 16-20, 23-27 and
# 30 = 21; the holidays 11 Nov (Wednesday) and 26 Nov (Thursday) leave 19 working days.
# 190,000.00 / 19 = 10,000.00 per working day. By ISO week (days inside November):
# W44 = 1 Nov (Sun) -> 0; W45 2-8 -> 5; W46 9-15 -> 4 (11th); W47 16-22 -> 5;
# W48 23-29 -> 4 (26th); W49 = 30 Nov (Mon) -> 1.   5 + 4 + 5 + 4 + 1 = 19.
NOVEMBER = dict(scope="company", metric="revenue", period="2026-11", value="190000.00")
HOLIDAYS = ["2026-11-26", "2026-11-11"]


def test_given_two_holidays_when_split_into_weeks_by_working_days_then_by_hand() -> None:
    plan = decompose(SplitRequest(**NOVEMBER, into="weeks", by="working-days", holidays=HOLIDAYS))
    assert [a.period for a in plan.allocations] == [f"2026-W{w}" for w in range(44, 50)]
    got = [str(a.value) for a in plan.allocations]
    assert got == ["0.00", "50000.00", "40000.00", "50000.00", "40000.00", "10000.00"]
    # The straddling weeks hold only their November days and are reported.
    assert [a.days for a in plan.allocations] == [1, 7, 7, 7, 7, 1]
    assert [w.split()[0] for w in plan.warnings] == ["2026-W44", "2026-W49"]


def test_given_two_holidays_when_split_into_days_then_only_working_days_get_any() -> None:
    plan = decompose(SplitRequest(**NOVEMBER, into="days", by="working-days", holidays=HOLIDAYS))
    paid = {a.period for a in plan.allocations if a.value}
    assert len(plan.allocations) == 30 and len(paid) == 19
    assert {str(a.value) for a in plan.allocations if a.value} == {"10000.00"}
    assert {"2026-11-01", "2026-11-07", "2026-11-11", "2026-11-26"}.isdisjoint(paid)


def test_given_straddling_weeks_when_split_evenly_then_a_partial_week_counts_its_days() -> None:
    # Evenly by whole week: 1 + 7 + 7 + 7 + 7 + 1 = 30 days-worth of sevenths, so
    # 30,000.00 gives a one-day stub 1,000.00 and a full week 7,000.00.
    got = values(**{**NOVEMBER, "value": "30000.00"}, into="weeks")
    assert got == ["1000.00", "7000.00", "7000.00", "7000.00", "7000.00", "1000.00"]


def test_given_a_year_when_split_into_weeks_then_iso_weeks_cover_it_exactly() -> None:
    plan = decompose(SplitRequest(**YEAR, value="365000.00", into="weeks", by="days"))
    first, last = plan.allocations[0], plan.allocations[-1]
    # 1 Jan 2026 is a Thursday (2026-W01 starts 29 Dec 2025) and 2026 has 53 ISO weeks.
    assert (first.period, first.days, str(first.value)) == ("2026-W01", 4, "4000.00")
    assert (last.period, last.days, str(last.value)) == ("2026-W53", 4, "4000.00")
    assert len(plan.allocations) == 53 and plan.total == D("365000.00")


def test_given_a_rep_joining_on_the_11th_of_30_days_then_20_30_and_the_rest_unallocated() -> None:
    joined = {"rep:c": [Presence(start=date(2026, 11, 11))]}
    plan = decompose(
        SplitRequest(**TEAM, value="90000.00", children=THREE, prorate=True, presence=joined)
    )
    # Even: 30,000.00 each; rep c is in the unit 11..30 Nov = 20 of 30 days -> 20,000.00.
    # The 10,000.00 pro-rated away stays unallocated at the parent (prorate.py's rule).
    assert [str(a.value) for a in plan.allocations] == ["30000.00", "30000.00", "20000.00"]
    assert [a.days for a in plan.allocations] == [30, 30, 20]
    assert plan.unallocated == D("10000.00") and plan.total + plan.unallocated == D(90000)


def test_given_a_tie_with_the_unallocated_remainder_then_the_child_gets_the_cent() -> None:
    # 0.03 to one child present 1 of 2 days: 0.015 each way; the tie goes to the child.
    values_, rest = prorated_allocation(D("0.03"), [Fraction(1)], [1], 2, D("0.01"))
    assert (values_, rest) == ([D("0.02")], D("0.01"))


def test_given_reference_actuals_when_split_by_share_then_proportional() -> None:
    # 2025 revenue: a 30,000 + b 10,000 (team t1) = 40 %, c 60,000 (team t2) = 60 %.
    store = InMemoryProjection(default_context())
    ev = Events()
    org = [ev.unit("hq", "company", None), ev.unit("t1", "team", "hq"), ev.unit("t2", "team", "hq")]
    staff = [ev.join("a", "t1"), ev.join("b", "t1"), ev.join("c", "t2")]
    sales = [("a", "2025-03-02", 30000), ("b", "2025-06-01", 10000), ("c", "2025-09-09", 60000)]
    # ... and what must not count: c's sale in 2026, d who joined in November 2026.
    later = [ev.order("c", "2026-01-05", "99999"), ev.join("d", "t1", at="2026-11-11")]
    for event in [*org, *staff, *(ev.order(r, d, a) for r, d, a in sales), *later]:
        store.apply_event(event)
    nov, y2025 = parse_period("2026-11"), parse_period("2025")
    units, _ = org_children(store, "company", "children", nov)
    assert units == ["unit:t1", "unit:t2"]
    shares = reference_shares(store, "revenue", units, y2025)
    assert shares == {"unit:t1": D("40000"), "unit:t2": D("60000")}
    by_share = dict(by="share", children=units, shares=shares, reference_period="2025")
    assert values(**YEAR, value="1000000.00", into="children", **by_share) == [
        "400000.00",
        "600000.00",
    ]
    # Down to reps: d joined on 11 Nov, so the read model gives d's presence for pro-rating.
    reps, presence = member_reps(store, "unit:t1", nov)
    assert reps == ["rep:a", "rep:b", "rep:d"]
    assert presence == {"rep:d": (Presence(date(2026, 11, 11), date(2026, 12, 1)),)}
    assert reference_shares(store, "revenue", reps, y2025)["rep:a"] == D("30000")


def test_given_no_reference_actuals_when_split_by_share_then_refused() -> None:
    with pytest.raises(DecompositionError, match="no child has any actual"):
        decompose(SplitRequest(**TEAM, value="1", by="share", children=THREE, shares={}))


weights_st = st.lists(
    st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False), min_size=1, max_size=12
).filter(lambda ws: any(ws))


@given(cents=st.integers(0, 10**15), weights=weights_st)
def test_property_children_always_sum_to_the_parent_exactly(
    cents: int, weights: list[Decimal]
) -> None:
    total = D(cents).scaleb(-2)
    parts = allocate(total, weights, D("0.01"))
    assert sum(parts) == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        # Largest remainder: every part within one cent of its exact share; zero stays zero.
        assert abs(Fraction(part) - Fraction(total) * Fraction(w) / Fraction(whole)) < D("0.01")
        assert w or part == 0


@given(
    cents=st.integers(0, 10**12),
    weights=weights_st,
    present=st.lists(st.integers(0, 30), min_size=12, max_size=12),
)
def test_property_prorated_children_plus_unallocated_is_the_parent(
    cents: int, weights: list[Decimal], present: list[int]
) -> None:
    total = D(cents).scaleb(-2)
    fracs = [Fraction(w) for w in weights]
    parts, rest = prorated_allocation(total, fracs, present[: len(weights)], 30, D("0.01"))
    assert sum(parts) + rest == total and rest >= 0


def test_given_the_same_request_twice_then_the_same_decomposition_id_and_event_ids() -> None:
    one = decompose(SplitRequest(**NOVEMBER, into="weeks", by="working-days", holidays=HOLIDAYS))
    # Written differently, meaning the same: 190000 == 190000.00, holidays in another order.
    same = {**NOVEMBER, "value": D(190000), "holidays": HOLIDAYS[::-1]}
    two = decompose(SplitRequest(**same, into="weeks", by="working-days"))
    later = datetime(2026, 11, 2, tzinfo=UTC)
    assert one.decomposition_id == two.decomposition_id
    ids = [e["event_id"] for e in one.events(AT)]
    assert ids == [e["event_id"] for e in two.events(later)] and len(set(ids)) == len(ids)
    assert ids[0] == str(child_event_id(one.decomposition_id, "company", "2026-W44"))
    other = decompose(SplitRequest(**{**NOVEMBER, "value": "190000.01"}, into="weeks"))
    assert other.decomposition_id != one.decomposition_id


def test_given_an_explicit_decomposition_id_then_it_is_used_and_events_are_valid() -> None:
    given_id = "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11"
    plan = decompose(SplitRequest(**NOVEMBER, into="days", decomposition_id=given_id))
    events = [parse_event(e) for e in plan.events(AT)]
    assert str(plan.decomposition_id) == given_id
    assert {e.source for e in events} == {f"targets-split/{given_id}"}
    assert sum(e.data.value for e in events) == D(190000)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"into": "months", "period": "2026-W45"}, "finer kind"),
        ({"into": "quarters", "by": "weights", "weights": ["1", "2"]}, "2 weight"),
        ({"value": "10.5", "quantity": "count", "into": "months"}, "whole multiple"),
        ({"value": "0.005", "into": "months"}, "whole multiple"),
        ({"into": "reps", "children": ["unit:x"]}, "not a rep scope"),
        ({"into": "reps", "children": ["rep:a", "rep:a"]}, "more than once"),
    ],
)
def test_given_an_impossible_split_then_a_clear_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DecompositionError, match=message):
        decompose(SplitRequest(**{**YEAR, "value": "100", **change}))


def test_given_a_mode_that_does_not_fit_then_the_request_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not apply"):
        SplitRequest(**NOVEMBER, into="days", by="share")
    with pytest.raises(ValidationError, match="prorate is off"):
        SplitRequest(**NOVEMBER, into="reps", children=["rep:a"], presence={"rep:a": []})


def test_given_yen_or_counts_then_whole_units() -> None:
    kw = {**TEAM, "value": "100000", "children": THREE}
    assert values(**kw, currency="JPY") == ["33333", "33333", "33334"]
    assert values(**{**kw, "metric": "calls"}, quantity="count") == ["33333", "33333", "33334"]


def run_cli(capsys: pytest.CaptureFixture[str], *command: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="salespulse")
    targets.add_parser(parser.add_subparsers())
    args = parser.parse_args(["targets", "split", *shlex.split(" ".join(command))])
    code = targets.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_preview_prints_the_table_and_json_lines_of_target_set_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = (
        "--scope company --metric revenue --period 2026 --value 1000000 --into quarters "
        "--by weights --weights 1,2,3,4 --preview --at 2026-10-30T09:00:00+00:00"
    )
    code, out, _ = run_cli(capsys, base)
    assert code == 0 and "2026-Q4" in out
    assert out.splitlines()[-1].split() == ["total", "1000000.00"]
    code, out, _ = run_cli(capsys, base, "--json")
    events = [parse_event(json.loads(line)) for line in out.splitlines()]
    got = [e.data.value for e in events]  # type: ignore[attr-defined]
    assert code == 0 and got == [Decimal(v) for v in ("100000", "200000", "300000", "400000")]


def test_cli_org_split_takes_explicit_children_and_reports_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = "--scope unit:t1 --metric revenue --period 2026-11 --value 90000 --into reps --preview"
    code, out, _ = run_cli(capsys, base, "--children a,b,c --prorate --joined c=2026-11-11")
    rows = {line.split()[0]: line.split()[-1] for line in out.splitlines()[2:]}
    assert code == 0 and rows["rep:c"] == "20000.00" and rows["unallocated"] == "10000.00"
    code, _, err = run_cli(capsys, base)
    assert code == 2 and "--children is required" in err
    code, _, err = run_cli(capsys, base, "--children a --by weights --weights x")
    assert code == 2 and "weights.0" in err
