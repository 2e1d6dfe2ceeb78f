"""The query endpoints over the in-memory oracle: shapes, decimal strings, ranking, 4xx errors."""

from __future__ import annotations

import re

import pytest

from tests.support.api import World, make_world
from tests.support.builders import Events

DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def test_goals_of_a_rep_give_every_metric_with_a_target_in_decimal_strings(world: World) -> None:
    # given r1's revenue target revised to 1200 and 500.25 signed by the 20th of 30 days
    body = world.get("/api/goals?scope=rep:r1&period=2026-11").json()
    revenue = next(m for m in body["metrics"] if m["metric"] == "revenue")
    # then every amount is a decimal string, and the revision is the target in force
    assert revenue["target"] == "1200" and revenue["actual"] == "500.25"
    assert revenue["gap"] == "699.75" and revenue["expected_to_date"] == "800"
    assert revenue["pace_status"] == "behind" and revenue["in_healthy_band"] is False
    for key in ("target", "actual", "completion", "gap", "expected_to_date", "forecast"):
        assert isinstance(revenue[key], str) and DECIMAL.match(revenue[key]), key
    assert [m["metric"] for m in body["metrics"]] == ["f2f_visits", "revenue"]
    assert (body["elapsed_days"], body["period_days"]) == (20, 30)


def test_goals_default_to_this_month_and_the_callers_own_scope(world: World) -> None:
    assert world.get("/api/goals").json()["scope"] == "company"
    body = world.get("/api/goals", who="rep_r1").json()
    assert (body["scope"], body["period"]) == ("rep:r1", "2026-11")


def test_leaderboard_uses_competition_ranking_first_to_reach_first(world: World) -> None:
    body = world.get("/api/leaderboard?metric=revenue&period=2026-11&scope=unit:t1").json()
    # r1 and r2 tie on 500.25; r2 reached it first (the 5th), so r2 is listed first; then 3.
    assert [(e["rank"], e["rep_id"], e["value"]) for e in body["entries"]] == [
        (1, "r2", "500.25"),
        (1, "r1", "500.25"),
        (3, "r3", "300"),
    ]
    assert body["entries"][1]["completion"] == "0.4169" and body["team_total"] == "1300.5"


def test_leaderboard_limit_keeps_the_scope_total(world: World) -> None:
    body = world.get("/api/leaderboard?period=2026-11&limit=2").json()
    assert [e["rep_id"] for e in body["entries"]] == ["r2", "r1"]
    assert body["team_total"] == "1800.5"


def test_contest_compares_units_per_capita_and_names_the_leader(world: World) -> None:
    body = world.get("/api/contest?metric=revenue&period=2026-11&units=t2,t1").json()
    rows = [(e["unit_id"], e["total"], e["headcount"], e["per_capita"]) for e in body["entries"]]
    assert rows == [("t1", "1300.5", 3, "433.5"), ("t2", "400", 1, "400")]
    assert body["leader"] == "t1" and body["entries"][0]["leader"] == "r2"


def test_funnel_reports_stages_win_rate_and_velocity_fields(world: World) -> None:
    body = world.get("/api/funnel?scope=company&period=2026-11").json()
    assert [s["stage"] for s in body["stages"]][:2] == ["prospecting", "qualification"]
    assert body["open_count"] == 1 and body["stages"][0]["open_amount"] == "300"
    assert body["won"] == 1 and body["win_rate"] == "1" and body["won_amount"] == "800"
    for key in ("avg_deal_size", "avg_cycle_days", "velocity_per_month", "diagnosis", "stalled"):
        assert key in body


def test_behaviour_lists_each_rep_of_a_unit_with_what_remains(world: World) -> None:
    body = world.get("/api/behaviour?scope=unit:t1&period=2026-11").json()
    r1 = next(r for r in body["rules"] if r["subject"] == "rep:r1")
    assert (r1["actual"], r1["required"], r1["remaining"], r1["days_left"]) == ("1", "15", "14", 10)
    assert r1["needed_per_day"] == "1.4" and r1["compliant"] is False
    assert {r["subject"] for r in body["rules"]} == {"rep:r1", "rep:r2", "rep:r3"}


def test_plan_says_where_rates_come_from_when_history_is_thin(world: World) -> None:
    body = world.get("/api/plan?scope=rep:r1&period=2026-11").json()
    assert body["target"] == "1200" and body["fallback"] is True
    assert body["win_rate"]["source"] == "company"


def test_daily_report_of_a_rep_writes_out_the_day(world: World) -> None:
    body = world.get("/api/reps/r1/daily?date=2026-11-10").json()
    assert body["visits_by_type"] == {"planned": 2} and body["calls_by_outcome"] == {"connected": 1}
    assert body["orders"][0]["amount"] == "500.25" and body["metrics"]["revenue"] == "500.25"
    assert body["summary"][0] == "1 calls (connected 1)"
    assert body["goals"]["scope"] == "rep:r1"


def test_target_history_lists_every_target_set_oldest_first(world: World) -> None:
    body = world.get("/api/targets/history?scope=rep:r1&metric=revenue&period=2026-11").json()
    assert [e["value"] for e in body["entries"]] == ["1000", "1200"]
    assert body["current"]["value"] == "1200"


def test_org_lists_units_and_metrics_for_the_dashboard_pickers(world: World) -> None:
    body = world.get("/api/org").json()
    assert {u["unit_id"] for u in body["units"]} == {"co", "d1", "d2", "t1", "t2", "t3"}
    assert "revenue" in body["metrics"]


@pytest.mark.parametrize(
    ("url", "status", "parameter", "words"),
    [
        ("/api/goals?period=2026-13", 422, "period", "invalid period '2026-13'"),
        ("/api/goals?period=last-month", 422, "period", "expected YYYY"),
        ("/api/goals?scope=team:t1", 422, "scope", "invalid scope 'team:t1'"),
        ("/api/goals?scope=unit:nope", 422, "scope", "unknown unit 'nope'"),
        ("/api/funnel?scope=rep:ghost", 422, "scope", "unknown rep 'ghost'"),
        ("/api/leaderboard?metric=profit", 422, "metric", "unknown metric 'profit'"),
        ("/api/leaderboard?limit=zero", 422, "limit", "integer"),
        ("/api/leaderboard?limit=0", 422, "limit", "greater than or equal to 1"),
        ("/api/contest?units=t1,zz", 422, "units", "unknown unit 'zz'"),
        ("/api/contest?units=,", 422, "units", "comma-separated"),
        ("/api/contest", 422, "units", "Field required"),
        ("/api/plan?metric=profit", 422, "metric", "unknown metric"),
        ("/api/reps/ghost/daily", 404, "rep_id", "unknown rep 'ghost'"),
        ("/api/reps/r1/daily?date=2026-02-30", 422, "date", "invalid date"),
        ("/api/targets/history?scope=company&metric=x&period=2026", 422, "metric", "unknown"),
    ],
)
def test_bad_parameters_get_a_4xx_naming_the_parameter(
    world: World, url: str, status: int, parameter: str, words: str
) -> None:
    response = world.get(url)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["parameter"] == parameter and words in detail["error"]


def test_the_plan_of_a_calls_target_asks_for_no_wins() -> None:
    target = Events(first_id=90_000).target("company", "calls", "2026-11", 25734)
    world = make_world(extra=[target])
    body = world.get("/api/plan?scope=company&period=2026-11&metric=calls").json()
    assert body["target"] == "25734" and body["required_wins"] is None
