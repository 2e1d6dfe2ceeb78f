"""Goal decomposition through real Kafka, a real worker and PostgreSQL (acceptance 2 and 4).

A company target is split down to the reps level by level, by the CLI (company -> departments,
teams -> reps) and by the HTTP API (departments -> teams); every level's goals then show
targets that add up and nothing unallocated. A child's target replaced by a bigger one shows
as negative `unallocated` at its parent. Repeating a split publishes nothing new.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from salespulse.api.auth import TokenBook
from salespulse.api.server import build_app
from schemas.events import parse_event
from tests.integration.conftest import Deployment
from tests.support.api import AUTH_TOML, NOW, auth
from tests.support.builders import Events
from tests.support.targets import (
    SCOPES,
    TEAMS,
    amount,
    cli,
    history,
    jsonl,
    log_size,
    org,
    revenue_goal,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

COMPANY_TARGET = Decimal("100000.00")
SPLIT_AT = "2026-10-02T09:00:00+00:00"


def split(d: Deployment, scope: str, into: str, *more: str) -> tuple[int, str]:
    """`salespulse targets split` of the scope's current November revenue target."""
    done = cli(
        d.env, "targets", "split", "--scope", scope, "--metric", "revenue",
        "--period", "2026-11", "--into", into, "--at", SPLIT_AT, *more,
    )  # fmt: skip
    return done.returncode, done.stderr


def test_a_company_target_split_down_to_reps_adds_up_at_every_level(
    deployment: Deployment, tmp_path: Path
) -> None:
    # Given an org with a November revenue target for the company, projected by a worker
    e = Events()
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(
            [*org(e), e.target("company", "revenue", "2026-11", COMPANY_TARGET, at="2026-10-01")]
        )
    deployment.wait_idle()
    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML), clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # When the company's target is split evenly to its departments (CLI; the value is
        # the company's current target), each department's to its teams (HTTP), and each
        # team's to its reps (CLI)
        code, err = split(deployment, "company", "children")
        assert code == 0, err
        deployment.wait_idle()
        for department in ("unit:d1", "unit:d2"):
            value = revenue_goal(client, department)["target"]
            body = {"scope": department, "metric": "revenue", "period": "2026-11",
                    "value": value, "into": "children"}  # fmt: skip
            response = client.post("/api/targets/split", json=body, headers=auth("admin"))
            assert response.status_code == 202, response.text
        deployment.wait_idle()
        for team in TEAMS:
            code, err = split(deployment, f"unit:{team}", "reps")
            assert code == 0, err
        deployment.wait_idle()

        # Then at every level the children's targets add up to the parent's: nothing is
        # left unallocated, and a rep (no children) has no allocation at all
        goals = {scope: revenue_goal(client, scope) for scope in SCOPES}
        for scope, goal in goals.items():
            if scope.startswith("rep:"):
                assert (goal["allocated"], goal["unallocated"]) == (None, None), scope
            else:
                assert amount(goal["allocated"]) == amount(goal["target"]), scope
                assert amount(goal["unallocated"]) == 0, scope
        # 50,000 per department; d1's two teams 25,000 each; t1's reps 12,500 each;
        # d2's single team t3 all 50,000, its reps 25,000 each.
        assert {s: amount(g["target"]) for s, g in goals.items()} == {
            "company": COMPANY_TARGET,
            "unit:d1": Decimal(50000),
            "unit:d2": Decimal(50000),
            "unit:t1": Decimal(25000),
            "unit:t2": Decimal(25000),
            "unit:t3": Decimal(50000),
            "rep:r1": Decimal(12500),
            "rep:r2": Decimal(12500),
            "rep:r3": Decimal(25000),
            "rep:r4": Decimal(25000),
            "rep:r5": Decimal(25000),
        }
        reps = sum(amount(g["target"]) or 0 for s, g in goals.items() if s.startswith("rep:"))
        assert reps == COMPANY_TARGET
        # and each child's history names the split that set it and who ran it
        (entry,) = history(client, "rep:r3")["entries"]
        assert entry["decomposition_id"] and entry["set_by"].startswith("cli")

        # When one rep's target is replaced by a bigger one (a later TargetSet)
        bigger = e.target("rep:r1", "revenue", "2026-11", "13000.00", at="2026-10-20")
        done = cli(deployment.env, "produce", str(jsonl([bigger], tmp_path / "r1.jsonl")))
        assert done.returncode == 0, done.stderr
        deployment.wait_idle()

        # Then its team is over-allocated by the difference, and nothing else moves
        team = revenue_goal(client, "unit:t1")
        assert amount(team["allocated"]) == Decimal(25500)
        assert amount(team["unallocated"]) == Decimal(-500)
        assert amount(revenue_goal(client, "unit:d1")["unallocated"]) == 0
        assert [e["value"] for e in history(client, "rep:r1")["entries"]] == ["12500", "13000"]


def test_repeating_a_split_publishes_nothing_new(deployment: Deployment) -> None:
    # Given a team's target split to its reps and projected
    e = Events()
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many([*org(e), e.target("unit:t1", "revenue", "2026-11", 900)])
    deployment.wait_idle()
    code, err = split(deployment, "unit:t1", "reps", "--value", "900")
    assert code == 0 and "published 2 TargetSet event(s)" in err, err
    deployment.wait_idle()
    bootstrap, topic = deployment.settings.kafka_bootstrap, deployment.settings.events_topic
    before = log_size(bootstrap, topic)

    # When the same request is made again, by the CLI (written differently, at another
    # time) and by the HTTP API
    code, err = split(deployment, "unit:t1", "reps", "--value", "900.00", "--at", NOW.isoformat())
    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML), clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = {"scope": "unit:t1", "metric": "revenue", "period": "2026-11", "value": 900,
                "into": "reps"}  # fmt: skip
        response = client.post("/api/targets/split", json=body, headers=auth("admin"))

    # Then both say so and nothing reaches the log
    assert code == 0, err
    assert err.splitlines()[-1].endswith("already published: 0 new events")
    assert response.status_code == 200, response.text
    assert (response.json()["published"], response.json()["already_published"]) == (0, 2)
    assert response.json()["message"].endswith("already published: 0 new events")
    assert log_size(bootstrap, topic) == before


def test_after_a_kpi_switch_cli_and_http_splits_give_the_same_events(
    deployment: Deployment, tmp_path: Path
) -> None:
    # Given version 1 active, and a version 2 in which revenue is a count of orders (so a
    # revenue target splits into whole numbers, not cents), built by a replay and activated
    v1 = (Path(__file__).parents[2] / "projections/model/kpis_v1.toml").read_text()
    v2 = tmp_path / "v2.toml"
    v2.write_text(
        v1.replace("version = 1", "version = 2", 1).replace(
            '[metrics.revenue]\nevent = "OrderSigned"\nmeasure = "sum(amount)"',
            '[metrics.revenue]\nevent = "OrderSigned"\nmeasure = "count"',
        )
    )
    assert 'measure = "count"' in v2.read_text().split("[metrics.revenue]")[1].split("[")[0]
    e = Events()
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(org(e))
    deployment.wait_idle()
    replay = cli(deployment.env, "replay", "--kpis", str(v2), "--no-progress")
    assert replay.returncode == 0, replay.stderr
    activate = cli(deployment.env, "kpi-versions", "activate", "2")
    assert activate.returncode == 0, activate.stderr

    # When the same split is asked of the HTTP API and of the CLI
    body = {"scope": "company", "metric": "revenue", "period": "2026", "value": "1001",
            "into": "quarters"}  # fmt: skip
    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML), clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.post("/api/targets/split?preview=true", json=body, headers=auth("admin"))
    assert response.status_code == 200, response.text
    from_http = [parse_event(x) for x in response.json()["events"]]
    set_by = from_http[0].data.set_by  # type: ignore[attr-defined]
    done = cli(
        deployment.env, "targets", "split", "--scope", "company", "--metric", "revenue",
        "--period", "2026", "--value", "1001", "--into", "quarters", "--preview", "--json",
        "--at", NOW.isoformat(), "--set-by", set_by,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from_cli = [parse_event(json.loads(line)) for line in done.stdout.splitlines()]

    # Then both give the same events, split as counts under the active version 2
    assert from_cli == from_http
    values = [x.data.value for x in from_cli]  # type: ignore[attr-defined]
    assert sum(values) == 1001 and all(v == v.to_integral_value() for v in values)
