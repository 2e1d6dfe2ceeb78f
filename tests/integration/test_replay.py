"""Replaying history under revised KPI definitions beside the live version, then switching."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer

from infra.publisher import partition_key, stamp
from projections.memory.oracle import build_oracle
from projections.model.kpi import load_kpis
from projections.postgres.registry import list_versions
from projections.postgres.store import PostgresProjectionStore
from salespulse.runtime import fold_context
from schemas.codec import encode
from schemas.events import AnyEvent
from tests.integration.conftest import Deployment
from tests.support.compare import differences, query_suite
from tests.support.sample import random_history

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"
START = date(2026, 9, 1)
DAYS = 60
AS_OF = datetime(2026, 10, 15, tzinfo=UTC)


def _check_both_versions(deployment: Deployment, events: list[AnyEvent]) -> None:
    """v1 answers as the oracle under v1; v2 as the oracle under the revised definitions."""
    v1_ctx = fold_context(deployment.settings)
    v2_ctx = dataclasses.replace(v1_ctx, kpis=load_kpis(REVISED))
    end = START + timedelta(days=DAYS)
    with psycopg.connect(deployment.settings.database_url) as conn:
        schemas = {
            v.version: v.schema_name for v in list_versions(conn, deployment.settings.schema_prefix)
        }
    for ctx in (v1_ctx, v2_ctx):
        oracle = build_oracle(events, ctx)
        suite = query_suite(oracle, ctx, AS_OF, START, end)
        with PostgresProjectionStore(
            deployment.settings.database_url, ctx, schemas[ctx.kpis.version],
            registry_schema=deployment.settings.schema_prefix,
        ) as store, store.snapshot() as snapshot:  # fmt: skip
            assert differences(suite, snapshot, oracle) == [], f"version {ctx.kpis.version}"


def _broadcast_ids(deployment: Deployment) -> list[str]:
    with psycopg.connect(deployment.settings.database_url) as conn:
        rows = conn.execute(
            f"SELECT broadcast_id FROM {deployment.settings.schema_prefix}.broadcasts ORDER BY seq"
        ).fetchall()
    return [r[0] for r in rows]


def _topic_keys(deployment: Deployment) -> list[bytes]:
    consumer = KafkaConsumer(
        deployment.settings.broadcasts_topic, bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=4000,
    )  # fmt: skip
    keys = [m.key for m in consumer]
    consumer.close()
    return keys


def test_replay_preview_switch_while_live_and_without_repeating_announcements(
    deployment: Deployment,
) -> None:
    # given a live worker that has applied (and announced) a history under version 1, with
    # corrections (amended, cancelled, reversed, reopened, split), some before what they correct
    history = random_history(
        seed=3, reps=10, days=DAYS, start=START, tz=fold_context(deployment.settings).tz,
        corrections=3,
    )  # fmt: skip
    first, later = history[: len(history) * 3 // 4], history[len(history) * 3 // 4 :]
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(first)
    deployment.wait_idle()
    announced = _broadcast_ids(deployment)
    assert announced, "the history has deal wins"

    # when a replay under the revised definitions runs while more events are produced
    replay = deployment.cli(
        "replay", "--kpis", str(REVISED), "--preview", "--json", "--no-progress"
    )
    with deployment.publisher() as publisher:
        publisher.publish_many(later)
    out, err = replay.communicate(timeout=600)
    assert replay.returncode == 0, err
    deployment.wait_idle()  # the worker keeps the ready version current

    # then both versions equal their oracles over every event, the live ones included
    _check_both_versions(deployment, history)
    # and the preview lists the revised metrics' differences, largest first, as JSON
    lines = [json.loads(line) for line in out.splitlines()]
    rows = [r for r in lines if "scope" in r]
    assert [r for r in lines if "period" in r], "per-month company totals follow"
    assert {r["metric"] for r in rows} >= {"revenue", "visits", "talks"}
    assert [abs(float(r["difference"])) for r in rows] == sorted(
        (abs(float(r["difference"])) for r in rows), reverse=True
    )
    assert any(r["scope"] == "company" and r["metric"] == "revenue" for r in rows)
    assert "version 2" in err and "ready" in err

    # when readers are switched to version 2
    switch = subprocess.run(
        [sys.executable, "-m", "salespulse.cli", "kpi-versions", "activate", "2"],
        env={**os.environ, **deployment.env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert switch.returncode == 0, switch.stderr
    assert "v2  active" in switch.stdout and "v1  retired" in switch.stdout
    # and the worker restarts on the new active version
    for worker in deployment.workers:
        worker.stop()
    deployment.start_worker()
    deployment.wait_idle()
    # then no deal was announced again: only the live deals of `later` were added, once each
    after = _broadcast_ids(deployment)
    assert after[: len(announced)] == announced
    assert len(after) == len(set(after))
    keys = _topic_keys(deployment)
    assert sorted(set(keys)) == sorted(b.encode() for b in after)


def _waiting_on_lock(conn: psycopg.Connection[Any], statement: str) -> int:
    """Backends blocked on a lock in a statement containing `statement` (the replay's)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        (f"%{statement}%",),
    ).fetchone()
    return int(row[0]) if row else 0


def _kill_when_blocked(
    deployment: Deployment, schema: str, lock: str, statement: str, args: tuple[str, ...],
    after_flush: bool, sig: signal.Signals = signal.SIGKILL,
) -> tuple[int, str]:  # fmt: skip
    """Run a replay, hold `lock` (or, `after_flush`, partition 0's staged offsets row) so that
    it blocks in `statement` inside its transaction (a flush, the merge), and send it `sig`
    there; returns its exit status and stderr."""
    url = deployment.settings.database_url
    with psycopg.connect(url, autocommit=True) as watch, psycopg.connect(url) as holder:
        replay = deployment.cli("replay", "--kpis", str(REVISED), "--no-progress", *args)
        deadline = time.monotonic() + 120

        def until(condition: Callable[[], bool]) -> None:
            while not condition():
                assert replay.poll() is None, replay.communicate()[1]
                assert time.monotonic() < deadline, f"replay never reached {statement}"
                time.sleep(0.01)  # the next flush may be only milliseconds away

        def exists(name: str) -> bool:
            row = watch.execute("SELECT to_regclass(%s)", (f"{schema}.{name}",)).fetchone()
            return row is not None and row[0] is not None

        try:
            until(lambda: exists("_staging_offsets"))
            if after_flush:
                # Partition 0's offsets row, written first (offset -1: nothing read, so a resumed
                # run starts there at 0) and held: the process reading partition 0 blocks in its
                # first flush while the other one commits flushes, so the resumed run has
                # partial staging, whatever the timing.
                offsets = f"{schema}._staging_offsets"
                watch.execute(f"INSERT INTO {offsets} VALUES (0, -1) ON CONFLICT DO NOTHING")
                holder.execute(f"SELECT * FROM {offsets} WHERE partition = 0 FOR UPDATE")
                until(lambda: _count(watch, f"{offsets} WHERE partition <> 0") > 0)
            else:
                holder.execute(lock.format(schema=schema))
            until(lambda: _waiting_on_lock(watch, statement) > 0)
        finally:
            replay.send_signal(sig)
            _, err = replay.communicate(timeout=30)
            holder.rollback()
        # the kill left a build in progress: the version has no applied offsets yet (the
        # merge writes them last), so the next run resumes the build, not the catch-up
        assert _count(watch, f"{schema}.applied_offsets") == 0
    return replay.returncode, err


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_a_replay_killed_in_a_flush_and_in_the_merge_resumes_and_equals_the_oracle(
    deployment: Deployment,
) -> None:
    # given a history with corrections applied under version 1 (an order's facts spread over
    # flushes: its credits are recomputed at the merge from all of them)
    # (large enough that a first flush leaves several to come: the kill below waits for one)
    history = random_history(seed=5, reps=16, days=DAYS, start=START, per_day=12, corrections=3)
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(history)
    deployment.wait_idle()
    schema = f"{deployment.settings.schema_prefix}_v2"
    # when a 2-process replay with a tiny memory limit (many flushes) is killed inside a flush
    # that follows a committed one (its rows COPY'd, blocked before the offsets are written)
    _kill_when_blocked(
        deployment, schema, "", 'INSERT INTO "' + schema + '"."_staging_offsets"',
        ("--processes", "2", "--memory", "1M"),
        after_flush=True,
    )  # fmt: skip
    # and the next run reads the rest and is killed in the middle of its merge: the other
    # tables merged and committed, metric_daily merged but blocked dropping its staging table
    _kill_when_blocked(
        deployment, schema, "LOCK TABLE {schema}._staging_metric_daily IN ACCESS SHARE MODE",
        "DROP TABLE", ("--memory", "1M"), after_flush=False,
    )  # fmt: skip
    # then a third run finishes the merge (metric_daily, then the offsets) without
    # reading the log again
    final = deployment.cli("replay", "--kpis", str(REVISED), "--no-progress")
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    read = int(err.split(" records read")[0].rsplit(" ", 1)[1])
    assert read == 0
    deployment.wait_idle()
    # and both versions equal their oracles: nothing was counted twice
    _check_both_versions(deployment, history)


def test_ctrl_c_on_a_replay_prints_one_line_and_the_next_run_resumes(
    deployment: Deployment,
) -> None:
    # given a history applied under version 1
    history = random_history(seed=6, reps=12, days=40, start=START, per_day=8)
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(history)
    deployment.wait_idle()
    schema = f"{deployment.settings.schema_prefix}_v2"
    # when a 2-process replay gets Ctrl-C (SIGINT) while a flush is under way
    status, err = _kill_when_blocked(
        deployment, schema, "", 'INSERT INTO "' + schema + '"."_staging_offsets"',
        ("--processes", "2", "--memory", "1M"),
        after_flush=True, sig=signal.SIGINT,
    )  # fmt: skip
    # then it says so in one line, no traceback, and exits 130
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 130, err
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], err
    # and the next run finishes the version, equal to its oracle
    final = deployment.cli("replay", "--kpis", str(REVISED), "--no-progress")
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    deployment.wait_idle()
    _check_both_versions(deployment, history)


@pytest.mark.parametrize("on_two_partitions", [False, True], ids=["bulk", "two-partitions"])
def test_a_replay_counts_each_event_once_and_keeps_fingerprints_and_conflicts(
    deployment: Deployment, on_two_partitions: bool
) -> None:
    # given a history applied under version 1 with a resubmission of other content (a
    # conflict), and maybe the same copies of its first events written on every partition
    # (one event under two keys: written again after the topic got more partitions), which
    # the bulk build cannot de-duplicate: that replay goes through the live store's path
    history = random_history(seed=8, reps=8, days=DAYS, start=START, per_day=6)
    deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many(history)
    sums = [e for e in history if e.type in ("CallLogged", "VisitCompleted", "LeadCreated")]
    copies = sums[:30] if on_two_partitions else []  # counted twice, the sums would show it
    s = deployment.settings
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    try:
        for event in copies:
            stamped = stamp(event, recorded_at=datetime.now(UTC), source="tests")
            for partition in range(s.partitions):
                producer.send(
                    s.events_topic, encode(stamped), partition_key(event), partition=partition
                )
        producer.flush()
    finally:
        producer.close()
    original = next(e for e in history if e.type == "OpportunityCreated")
    other = original.model_copy(update={"rep_id": "rep-not-this-one"})
    with deployment.publisher() as publisher:
        publisher.publish(other)
    deployment.wait_idle()
    # when version 2 is replayed in bulk, with two processes
    replay = deployment.cli("replay", "--kpis", str(REVISED), "--no-progress", "--processes", "2")
    _, err = replay.communicate(timeout=300)
    assert replay.returncode == 0, err
    assert ("through the live path" in err) is on_two_partitions, err
    deployment.wait_idle()
    # then both versions equal their oracles: each copied event counted once
    _check_both_versions(deployment, [*history, *copies, other])
    # and version 2 holds version 1's fingerprints and conflicts (the edge's resubmission
    # check and the store's conflict rule read them after a switch)
    v1, v2 = (f"{s.schema_prefix}_v{n}" for n in (1, 2))
    with psycopg.connect(s.database_url) as conn:
        missing = _count(conn, f"{v2}.applied_events WHERE fingerprint IS NULL")
        differ = _count(
            conn,
            f"{v2}.applied_events a JOIN {v1}.applied_events b USING (event_id) "
            "WHERE a.fingerprint IS DISTINCT FROM b.fingerprint",
        )
        conflicts = [
            conn.execute(f"SELECT event_id, kept FROM {v}.event_conflicts ORDER BY 1, 2").fetchall()
            for v in (v1, v2)
        ]
    assert (missing, differ) == (0, 0)
    assert [e for e, _ in conflicts[0]] == [original.event_id]
    assert conflicts[1] == conflicts[0]
