"""Operations endpoints: health, Prometheus metrics with lag, KPI versions, OpenAPI, dashboard."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from salespulse.api.ops import Family, PartitionLag, VersionStatus, progress_of, render
from tests.support.api import FakeOps, make_world

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def ops() -> FakeOps:
    return FakeOps(
        statuses=[
            VersionStatus(1, "active", "v1", "sp_v1", CREATED, CREATED, Decimal(1), 0),
            VersionStatus(2, "building", "v2", "sp_v2", CREATED, None, Decimal("0.25"), 30),
        ],
        lags=[
            PartitionLag(1, 0, 9, 10),  # everything applied: lag 0
            PartitionLag(1, 1, -1, 5),  # nothing applied yet: the whole partition
            PartitionLag(2, 0, 1, 10),
        ],
    )


def test_health_answers_without_a_token() -> None:
    world = make_world()
    assert world.get("/health", who=None).json() == {
        "status": "ok",
        "mode": "tokens",
        "dependencies": {},
    }


def test_health_names_the_dependency_that_is_down() -> None:
    # before the fix /health said "ok" with PostgreSQL down
    world = make_world(health=lambda: {"postgres": "down", "kafka": "up"})
    response = world.get("/health", who=None)
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "mode": "tokens",
        "dependencies": {"postgres": "down", "kafka": "up"},
    }


def test_metrics_count_requests_by_route_template_and_show_lag_per_partition() -> None:
    world = make_world(ops=ops())
    world.get("/api/reps/r1/daily?date=2026-11-10")
    world.get("/api/reps/r2/daily?date=2026-11-10")
    world.get("/api/goals", who=None)
    response = world.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert (
        'salespulse_http_requests_total{method="GET",route="/api/reps/{rep_id}/daily",'
        'status="200"} 2' in text
    )
    assert 'salespulse_http_requests_total{method="GET",route="/api/goals",status="401"} 1' in text
    assert 'salespulse_consumer_lag{version="1",partition="0"} 0' in text
    assert 'salespulse_consumer_lag{version="1",partition="1"} 5' in text
    assert 'salespulse_consumer_lag{version="2",partition="0"} 8' in text
    assert 'salespulse_log_end_offset{version="1",partition="1"} 5' in text
    assert "salespulse_log_offsets_up 1" in text
    assert "# TYPE salespulse_consumer_lag gauge" in text


def test_metrics_say_when_the_log_offsets_cannot_be_read() -> None:
    world = make_world(ops=FakeOps(lags=None))
    text = world.get("/metrics").text
    assert "salespulse_log_offsets_up 0" in text and "salespulse_consumer_lag" not in text


def test_kpi_versions_come_from_the_registry_with_build_progress() -> None:
    world = make_world(ops=ops())
    versions = world.get("/api/kpi-versions").json()["versions"]
    assert [(v["version"], v["status"], v["progress"], v["lag"]) for v in versions] == [
        (1, "active", "1", 0),
        (2, "building", "0.25", 30),
    ]


def test_without_a_registry_the_served_version_is_the_active_one() -> None:
    versions = make_world().get("/api/kpi-versions").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "active")]


def test_progress_is_the_applied_share_of_the_log() -> None:
    lags = [PartitionLag(2, 0, 4, 10), PartitionLag(2, 1, 9, 10)]
    assert progress_of(lags) == (Decimal("0.7500"), 5)
    assert progress_of([PartitionLag(2, 0, -1, 0)]) == (Decimal(1), 0)
    assert progress_of([]) == (None, None)


def test_prometheus_label_values_are_escaped() -> None:
    text = render([Family("x", "gauge", "h", (({"a": 'q"\\\n'}, 1.5),))])
    assert text == '# HELP x h\n# TYPE x gauge\nx{a="q\\"\\\\\\n"} 1.5\n'


def test_openapi_documents_every_endpoint_with_decimal_strings() -> None:
    spec = make_world().get("/openapi.json", who=None).json()
    paths = set(spec["paths"])
    for path in (
        "/api/events",
        "/api/goals",
        "/api/leaderboard",
        "/api/contest",
        "/api/funnel",
        "/api/behaviour",
        "/api/plan",
        "/api/reps/{rep_id}/daily",
        "/api/broadcasts",
        "/api/broadcasts/{broadcast_id}/cheers",
        "/api/stream",
        "/api/targets/history",
        "/api/kpi-versions",
        "/health",
        "/metrics",
    ):
        assert path in paths, path
    target = spec["components"]["schemas"]["GoalLineOut"]["properties"]["target"]
    assert target["type"] == "string"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/", "text/html", "EventSource"),
        ("/static/app.js", "javascript", "EventSource"),
        ("/static/style.css", "text/css", "@media"),
    ],
)
def test_the_dashboard_is_served_without_a_build_step(path: str, kind: str, words: str) -> None:
    response = make_world().get(path, who=None)
    assert response.status_code == 200 and kind in response.headers["content-type"]
    body = response.text
    if path == "/":
        assert '<script type="module" src="/static/app.js"' in body and "viewport" in body
        body = make_world().get("/static/app.js", who=None).text
    assert words in body


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/login", "login"),
        ("/me", "me"),
        ("/team/t1", "team"),
        ("/team/company", "team"),
        ("/contest", "contest"),
        ("/targets", "targets"),
        ("/kpi-versions", "kpi-versions"),
    ],
)
def test_each_people_page_is_the_shell_naming_its_module(path: str, module: str) -> None:
    world = make_world()
    # (no token needed for the page itself: it asks the API with the token it keeps)
    page = world.get(path, who=None)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f'<script type="module" src="/static/pages/{module}.js">' in page.text
    script = world.get(f"/static/pages/{module}.js", who=None)
    assert script.status_code == 200 and 'from "/static/core.js"' in script.text
    for lang in ("zh-CN", "en"):
        assert world.get(f"/static/i18n/{lang}.json", who=None).json()[f"title.{module}"]
