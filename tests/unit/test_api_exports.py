"""CSV and XLSX exports: the achievement table and leaderboard agree with the JSON endpoints."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.support.api import World, make_world


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode())  # Excel reads UTF-8 only with the mark
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_achievement_csv_lists_each_rep_of_the_team_with_the_goals_numbers(
    world: World,
) -> None:
    answer = world.get("/api/reports/achievement.csv?scope=unit:t1&period=2026-11")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="achievement-2026-11.csv"' in answer.headers["content-disposition"]
    rows = _csv(answer.content)
    assert [r["rep_id"] for r in rows] == ["r1", "r2", "r3"]
    assert list(rows[0])[:8] == [
        "rep_id", "name", "unit_id", "unit", "revenue_target", "revenue_actual",
        "revenue_completion", "revenue_pace",
    ]  # fmt: skip
    # r1's numbers are GET /api/goals' numbers for r1
    goals = world.get("/api/goals?scope=rep:r1&period=2026-11").json()["metrics"]
    for metric in ("revenue", "f2f_visits"):
        line = next(m for m in goals if m["metric"] == metric)
        assert rows[0][f"{metric}_target"] == line["target"]
        assert rows[0][f"{metric}_actual"] == line["actual"]
        assert rows[0][f"{metric}_completion"] == line["completion"]
        assert rows[0][f"{metric}_pace"] == line["pace_status"]
    # a rep without a target shows the actual and leaves the rest empty
    assert (rows[2]["revenue_target"], rows[2]["revenue_actual"]) == ("", "300")
    assert rows[1]["unit"] == "T1"


def test_the_achievement_export_follows_the_goals_role_rules(world: World) -> None:
    url = "/api/reports/achievement.csv?period=2026-11&scope="
    assert world.get(url + "unit:t1", who="manager_d1").status_code == 200
    assert world.get(url + "unit:t1", who="manager_t2").status_code == 403
    assert world.get(url + "unit:t1", who="rep_r1").status_code == 403
    assert world.get(url + "rep:r1", who="rep_r1").status_code == 200
    assert world.get(url + "unit:t1", who=None).status_code == 401
    # by default a rep gets their own row
    own = _csv(world.get("/api/reports/achievement.csv?period=2026-11", who="rep_r1").content)
    assert [r["rep_id"] for r in own] == ["r1"]


def test_the_achievement_xlsx_holds_the_same_table_with_numbers_as_numbers(world: World) -> None:
    as_csv = _csv(world.get("/api/reports/achievement.csv?scope=unit:t1&period=2026-11").content)
    answer = world.get("/api/reports/achievement.xlsx?scope=unit:t1&period=2026-11")
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(as_csv[0])
    assert [r[0] for r in values[1:]] == ["r1", "r2", "r3"]
    assert values[1][5] == pytest.approx(500.25) and isinstance(values[1][5], float)


def test_the_leaderboard_csv_is_the_json_leaderboard(world: World) -> None:
    url = "metric=revenue&period=2026-11&scope=unit:t1"
    entries = world.get(f"/api/leaderboard?{url}").json()["entries"]
    rows = _csv(world.get(f"/api/leaderboard.csv?{url}", who="rep_r1").content)
    assert [(r["rank"], r["rep_id"], r["value"]) for r in rows] == [
        (str(e["rank"]), e["rep_id"], e["value"]) for e in entries
    ]
    assert world.get(f"/api/leaderboard.pdf?{url}").status_code == 422
