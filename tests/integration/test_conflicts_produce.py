"""Duplicate deals and corrections at `salespulse produce` over real Kafka, worker, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from salespulse.api.auth import TokenBook
from salespulse.api.server import build_app
from tests.integration.conftest import Deployment
from tests.support.api import AUTH_TOML, NOW, auth
from tests.support.builders import Events
from tests.support.targets import cli, jsonl

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_produce_warns_of_a_duplicate_deal_and_an_unknown_order_and_refuses_a_stranger(
    deployment: Deployment, tmp_path: Path
) -> None:
    e = Events()
    org = [
        e.unit("co", "company", None), e.unit("t1", "team", "co"), e.unit("t2", "team", "co"),
        e.join("r1", "t1"), e.join("r2", "t2"),
        e.created("r1", "2026-11-02", "d-1", 800),
    ]  # fmt: skip
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(org)
    deployment.wait_idle()
    # given r1's open deal on account a1; when r2 creates a deal on a1, an unknown order is
    # cancelled and credit is given to a rep nobody knows
    collide = e.created("r2", "2026-11-05", "d-2", 500)
    cancel = e.cancel("r2", "2026-11-05", "nope")
    stranger = e.credit("r2", "2026-11-05", {"zed": 1}, opp="d-2")
    done = cli(
        deployment.env, "produce", str(jsonl([collide, cancel, stranger], tmp_path / "x.jsonl"))
    )
    # then the two are published with a warning each, the stranger's credit is refused
    assert done.returncode == 1
    assert done.stdout == "published 2, rejected 1, 2 warning(s)\n"
    lines = done.stderr.splitlines()
    assert lines[0].startswith("line 1: warning: data.account_id: duplicate deal (撞单)")
    assert "d-1 of r1" in lines[0]
    assert lines[1].startswith("line 2: warning: data.order_id: order nope is not known")
    assert lines[2] == "line 3: data.shares.0.rep_id: unknown rep 'zed'"
    deployment.wait_idle()
    # and the conflict is listed, for r2's team and for r1
    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML), clock=lambda: NOW)
    with TestClient(app) as client:
        found = client.get("/api/conflicts?scope=company&period=2026-11", headers=auth("admin"))
        assert found.status_code == 200, found.text
        pairs = [
            (c["opportunity_id"], c["other_opportunity_id"], c["resolved"])
            for c in found.json()["conflicts"]
        ]
        assert pairs == [("d-2", "d-1", False)]
