"""KPI definition files: version 1 defaults, and clear errors naming the metric and problem."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from projections.model.kpi import KpiError, default_kpis, load_kpis, parse_kpis


def test_version_1_has_the_design_defaults() -> None:
    kpis = default_kpis()
    assert kpis.version == 1
    assert list(kpis.metrics) == [
        "revenue",
        "orders",
        "payments",
        "wins",
        "won_amount",
        "new_opportunities",
        "leads",
        "mql",
        "sql",
        "calls",
        "connected_calls",
        "visits",
        "f2f_visits",
        "ka_visits",
    ]
    assert kpis.metrics["revenue"].event == "OrderSigned" and kpis.metrics["revenue"].is_money
    assert kpis.probabilities == {
        "prospecting": Decimal("0.10"),
        "qualification": Decimal("0.25"),
        "proposal": Decimal("0.50"),
        "negotiation": Decimal("0.75"),
    }
    (rule,) = kpis.rules
    assert (rule.metric, rule.op, rule.required, rule.period_kind, rule.per) == (
        "f2f_visits",
        ">=",
        15,
        "month",
        "rep",
    )


def _metric(body: str, rules: str = "") -> str:
    return f'version = 2\n{rules}\n[metrics.visits]\nevent = "VisitCompleted"\n{body}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'version = 2\n[metrics.visits]\nevent = "Visit"\nmeasure = "count"',
            r"metric 'visits': unknown event type 'Visit'",
        ),
        (
            _metric('measure = "count"\nwhere = ["colour = 1"]'),
            r"metric 'visits': unknown field 'colour' of VisitCompleted",
        ),
        (_metric('measure = "avg(duration_min)"'), r"metric 'visits': bad measure 'avg"),
        (_metric('measure = "sum(visit_type)"'), r"metric 'visits': .*visit_type is not a number"),
        (
            _metric('measure = "count"\nwhere = ["face_to_face = 1"]'),
            r"metric 'visits': .*face_to_face is a bool field",
        ),
        (
            _metric('measure = "count"\nwhere = ["visit_type = \\"party\\""]'),
            r"metric 'visits': .*visit_type is one of planned",
        ),
        (_metric('measure = "count"\nwhere = ["duration_min >>= 3"]'), r"metric 'visits': bad"),
        (
            _metric('measure = "count"\nweights = [{ where = "key_account = true" }]'),
            r"metric 'visits': each weight",
        ),
        (
            _metric('measure = "count"', 'rules = ["visits at least 15 a month"]'),
            r"rule 'visits at least 15 a month': bad rule syntax",
        ),
        (
            _metric('measure = "count"', 'rules = ["calls >= 5 per week per rep"]'),
            r"unknown metric 'calls'",
        ),
        (
            'version = 2\n[metrics.t]\nevent = "TargetSet"\nmeasure = "count"',
            r"metric 't': event type TargetSet carries no rep_id",
        ),
        (_metric('measure = "count"') + '[pipeline]\nstages = ["demo"]', r"unknown stage 'demo'"),
        ("version = 2\n[metrics", r"not valid TOML"),
        ('version = "one"', r"version must be a positive integer"),
    ],
)
def test_a_bad_kpi_file_fails_with_a_message_naming_the_metric_and_problem(
    text: str, message: str
) -> None:
    with pytest.raises(KpiError, match=message):
        parse_kpis(text)


def test_a_revised_file_loads_from_disk_and_keeps_its_source(tmp_path: Path) -> None:
    path = tmp_path / "kpis_v2.toml"
    path.write_text(
        _metric('measure = "count"\nwhere = ["face_to_face = true", "duration_min >= 20"]')
    )
    kpis = load_kpis(path)
    assert kpis.version == 2 and kpis.source == path.read_text()
    assert [str(c) for c in kpis.metrics["visits"].where] == [
        "face_to_face = True",
        "duration_min >= Decimal('20')",
    ]
    # Missing [pipeline] means the default stages and probabilities.
    assert kpis.stages == ("prospecting", "qualification", "proposal", "negotiation")


def test_the_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('version = 2\n[metrics.x]\nevent = "OrderSigned"\nmeasure = "sum(amout)"')
    with pytest.raises(KpiError, match=r"bad.toml: metric 'x': unknown field 'amout'"):
        load_kpis(path)
