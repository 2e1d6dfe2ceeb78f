"""The achievement report: hand-worked lines, assessed values and why a rep is behind."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projections.memory.oracle import build_oracle
from projections.model.context import FoldContext
from projections.model.kpi import default_kpis, parse_kpis
from projections.queries.achievement_report import achievement
from tests.support.builders import Events
from tests.support.people import floor_history

AFTER_NOVEMBER = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _report(scope: str = "unit:t1", kpis_text: str | None = None):  # type: ignore[no-untyped-def]
    kpis = default_kpis() if kpis_text is None else parse_kpis(kpis_text)
    events = floor_history(Events(), "2026-11", datetime(2026, 11, 10, 10, tzinfo=UTC))
    model = build_oracle(events, FoldContext(kpis))
    return achievement(model, kpis, scope, "revenue", "2026-11", AFTER_NOVEMBER, UTC)


def test_a_team_report_lists_each_rep_with_target_assessed_actual_and_pace() -> None:
    report = _report()
    rows = {r.rep_id: r for r in report.reps}
    assert sorted(rows) == ["r1", "r2", "r3"]  # r4 is in the other team
    r1, r2, r3 = rows["r1"].line, rows["r2"].line, rows["r3"].line
    assert (r1.target, r1.assessed, r1.actual) == (Decimal(3000), Decimal(2400), Decimal(3100))
    assert (r1.pace_status, r2.pace_status, r3.pace_status) == ("on_track", "behind", "ahead")
    assert r2.completion == Decimal("0.1667")
    assert (r1.in_healthy_band, r2.in_healthy_band) == (True, False)
    assert rows["r2"].name == "李强" and rows["r2"].unit_name == "上海一组"
    # the team's own line: 9000 target, 7000 done, the assessed value at 80 %
    total = report.total
    assert (total.target, total.assessed, total.actual) == (9000, 7200, 7000)
    assert total.pace_status == "behind"


def test_a_rep_behind_pace_carries_the_missed_rule_and_the_funnel_finding() -> None:
    rows = {r.rep_id: r for r in _report().reps}
    behind = rows["r2"]
    (rule,) = behind.missed_rules
    assert (rule.metric, rule.actual, rule.required, rule.remaining) == ("f2f_visits", 2, 15, 13)
    assert rule.days_left == 0 and rule.needed_per_day is None  # November is over
    (finding,) = behind.diagnosis
    assert finding.code == "few_new_opportunities"
    assert (finding.value, finding.peer_median) == (Decimal(1), Decimal("3.5"))
    # reps on or ahead of pace need no explanation
    assert rows["r1"].diagnosis == () and rows["r1"].missed_rules == ()


def test_the_unit_tree_is_rolled_up_below_the_scope() -> None:
    report = _report("unit:d1")
    units = {u.unit_id: u for u in report.units}
    assert sorted(units) == ["d1", "t1", "t2"]
    assert (units["t1"].line.actual, units["t2"].line.actual) == (7000, 2500)
    assert units["d1"].line.actual == 9500 and units["d1"].headcount == 4
    assert units["t2"].line.pace_status == "ahead"


def test_the_kpi_file_may_set_the_assessed_share_per_metric() -> None:
    text = default_kpis().source.replace(
        '[metrics.revenue]\nevent = "OrderSigned"',
        '[metrics.revenue]\nassessed = 0.9\nevent = "OrderSigned"',
    )
    assert "assessed = 0.9" in text
    report = _report(kpis_text=text)
    assert report.assessed_share == Decimal("0.9")
    assert report.total.assessed == Decimal(8100)
