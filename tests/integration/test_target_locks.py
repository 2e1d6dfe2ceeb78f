"""Target locks through real Kafka, a real worker and PostgreSQL (acceptance 3).

After `TargetsLocked` for a department and a month, a TargetSet for any target below it in
that month is refused by every edge, naming the lock: `salespulse produce` (exit status 1),
`salespulse targets split` (exit status 1, nothing published) and `POST /api/events` (409).
An admin's explicit override goes through and shows in the target's history, beside the lock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from projections.model.context import FoldContext
from projections.model.kpi import default_kpis
from projections.postgres.store import PostgresProjectionStore
from salespulse.api.auth import TokenBook
from salespulse.api.server import build_app
from tests.integration.conftest import Deployment
from tests.support.api import AUTH_TOML, NOW, auth
from tests.support.builders import Events
from tests.support.targets import cli, event_json, history, jsonl, log_size, org

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SQL_DIR = Path(__file__).parents[2] / "projections" / "postgres" / "migrations"


def test_a_locked_period_refuses_target_sets_until_an_admin_overrides(
    deployment: Deployment, tmp_path: Path
) -> None:
    # Given November targets for rep r1 (under d1) and rep r4 (under d2), projected
    e = Events(first_id=1000)
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(
            [
                *org(e),
                e.target("rep:r1", "revenue", "2026-11", 1000, at="2026-10-01"),
                e.target("rep:r4", "revenue", "2026-11", 1000, at="2026-10-01"),
            ]
        )
    # and department d1's November locked with `salespulse produce` by the head of sales
    lock = e.lock("unit:d1", "2026-11", "2026-10-31T18:00")
    done = cli(
        deployment.env, "produce", "--set-by", "head of sales",
        str(jsonl([lock], tmp_path / "lock.jsonl")),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    deployment.wait_idle()
    bootstrap, topic = deployment.settings.kafka_bootstrap, deployment.settings.events_topic
    before = log_size(bootstrap, topic)
    named = f"locked by TargetsLocked {lock.event_id} (unit:d1 2026-11, locked by head of sales"

    # When a TargetSet for r1 (a rep of a team under d1) is produced
    revised = e.target("rep:r1", "revenue", "2026-11", 1500, at="2026-11-05")
    refused = cli(deployment.env, "produce", str(jsonl([revised], tmp_path / "r1.jsonl")))
    # Then it is rejected naming the lock, with exit status 1
    assert refused.returncode == 1
    assert refused.stdout == "published 0, rejected 1\n"
    assert refused.stderr.startswith("line 1: data.period: targets of rep:r1 for 2026-11 ")
    assert named in refused.stderr and "--override-locks" in refused.stderr

    # When team t1's target is split to its reps: refused as a whole, exit status 1
    split = cli(
        deployment.env, "targets", "split", "--scope", "unit:t1", "--metric", "revenue",
        "--period", "2026-11", "--value", "2000", "--into", "reps",
    )  # fmt: skip
    assert split.returncode == 1
    assert named in split.stderr and "refused: 2 of 2 target(s) locked" in split.stderr

    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML), clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # When the TargetSet is posted to the API: 409 naming the lock
        posted = client.post("/api/events", json=event_json(revised), headers=auth("producer"))
        assert posted.status_code == 409
        detail = posted.json()["detail"]
        assert named in detail["error"] and "?override_locks=true" in detail["error"]
        assert (detail["lock"]["event_id"], detail["lock"]["set_by"]) == (
            str(lock.event_id),
            "head of sales",
        )
        # a producer may not override; outside the lock, r4's target is taken as usual
        forbidden = client.post(
            "/api/events?override_locks=true", json=event_json(revised), headers=auth("producer")
        )
        assert forbidden.status_code == 403
        assert log_size(bootstrap, topic) == before
        r4 = e.target("rep:r4", "revenue", "2026-11", 1100, at="2026-11-05")
        taken = client.post("/api/events", json=event_json(r4), headers=auth("producer"))
        assert taken.status_code == 202 and taken.json()["accepted"] == [str(r4.event_id)]

        # When an admin overrides the lock explicitly
        overridden = client.post(
            "/api/events?override_locks=true", json=event_json(revised), headers=auth("admin")
        )
        assert overridden.status_code == 202, overridden.text
        deployment.wait_idle()

        # Then the new target is in force, and the history shows the first target, the
        # override (who, when) and the lock it overrode
        body = history(client, "rep:r1")
        assert [(x["value"], x["override"]) for x in body["entries"]] == [
            ("1000", False),
            ("1500", True),
        ]
        override = body["entries"][-1]
        assert (override["set_by"], override["event_id"]) == ("admin #0", str(revised.event_id))
        assert override["at"] == "2026-11-05T12:00:00Z"
        assert body["current"]["value"] == "1500" and body["locked"] is True
        assert [(x["scope"], x["event_id"], x["set_by"]) for x in body["locks"]] == [
            ("unit:d1", str(lock.event_id), "head of sales")
        ]

    # And the CLI's own override is accepted too, recorded as one
    again = e.target("rep:r1", "revenue", "2026-11", 1600, at="2026-11-06")
    forced = cli(
        deployment.env, "produce", "--override-locks", str(jsonl([again], tmp_path / "o.jsonl"))
    )
    assert forced.returncode == 0, forced.stderr
    deployment.wait_idle()
    with deployment.store() as store:
        latest = store.target_history("rep:r1", "revenue", "2026-11")[-1]
    assert (latest.value, latest.override) == (1600, True)
    assert latest.set_by is not None and latest.set_by.startswith("cli")


def test_a_schema_made_before_target_lineage_is_upgraded_on_its_first_batch(
    database_url: str, pg_schema: str
) -> None:
    # Given a projection schema as an older release left it: only projection_001 applied
    schema = f"{pg_schema}_v1"
    store = PostgresProjectionStore(
        database_url, FoldContext(default_kpis()), schema, registry_schema=pg_schema
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".schema_migrations (name text PRIMARY KEY, '
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        ddl = (SQL_DIR / "projection_001_tables.sql").read_text()
        conn.execute(ddl.replace("{schema}", f'"{schema}"'))
        conn.execute(
            f"INSERT INTO \"{schema}\".schema_migrations VALUES ('projection_001_tables.sql')"
        )
    # When a worker of this release applies a TargetSet v2 to it
    e = Events()
    split_id = UUID(int=7)
    lineage = {"decomposition_id": str(split_id), "set_by": "ops"}
    target = e("TargetSet", datetime(2026, 10, 1, tzinfo=UTC), scope="company",
               metric="revenue", period="2026-11", value="10", **lineage)  # fmt: skip
    with store:
        store.apply_batch([(0, 0, target)])
        # Then the new columns exist and hold the lineage
        (row,) = store.decomposition_targets(split_id)
    assert (row.set_by, row.override, row.event_id) == ("ops", False, target.event_id)
