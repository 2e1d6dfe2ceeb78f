"""Deal-win announcements: recorded once with the batch, relayed to Kafka, never repeated."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer

from tests.integration.conftest import Deployment
from tests.support.builders import Events

pytestmark = pytest.mark.integration


def _broadcasts(deployment: Deployment) -> list[tuple[str, str, dict[str, object]]]:
    schema = deployment.settings.schema_prefix
    with psycopg.connect(deployment.settings.database_url) as conn:
        rows = conn.execute(
            f"SELECT broadcast_id, kind, payload FROM {schema}.broadcasts ORDER BY seq"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _topic(deployment: Deployment) -> list[tuple[bytes, dict[str, object]]]:
    consumer = KafkaConsumer(
        deployment.settings.broadcasts_topic,
        bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=5000,
    )  # fmt: skip
    records = [(m.key, json.loads(m.value)) for m in consumer]
    consumer.close()
    return records


def test_a_win_is_announced_once_across_resubmission_and_restart(deployment: Deployment) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    month = f"{now.year:04d}-{now.month:02d}"
    e = Events(first_id=random.randrange(10**9))
    history = [
        e.unit("co", "company", None), e.unit("t1", "team", "co"),
        e.join("r1", "t1", name="Ada"), e.join("r2", "t1", name="Bo"),
        e.target("rep:r1", "revenue", month, 1000),
    ]  # fmt: skip
    direct_order = e.order("r2", now - timedelta(minutes=5), "5000")  # a deal with no opportunity
    win = e.won("r1", now, "o-1", "800")
    order = e.order("r1", now, "1200", opp="o-1")
    old_win = e.won("r2", now - timedelta(days=40), "o-9", "300")
    worker = deployment.start_worker()
    # given a history, a win and its order (the same deal), and a win from 40 days ago
    with deployment.publisher() as publisher:
        publisher.publish_many([*history, direct_order, win, order, old_win])
    deployment.wait_idle()
    # when the win is resubmitted and the worker restarts
    worker.kill()
    with deployment.publisher() as publisher:
        publisher.publish(win)
    deployment.start_worker()
    deployment.wait_idle()
    # then the deal is announced once, with its context, and the order is not a second deal
    rows = _broadcasts(deployment)
    deals = [r for r in rows if r[1] == "deal_won"]
    # (in occurred_at order within the batch)
    expected = [old_win, direct_order, win]
    assert [r[0] for r in deals] == [str(x.event_id) for x in expected]
    payload = deals[2][2]
    assert payload["rep_name"] == "Ada" and payload["unit_id"] == "t1"
    assert payload["amount"] == "800" and payload["live"] is True
    # ranked on won_amount: r1 had nothing won before this deal, then leads the month
    assert (payload["rank_before"], payload["rank_after"]) == (None, 1)
    assert deals[1][2]["source"] == "OrderSigned" and deals[1][2]["rank_after"] == 1
    # the 40-day-old win is history, not news
    assert deals[0][2]["live"] is False
    # the order took r1 over the month's target: one milestone for the rep
    milestones = [r for r in rows if r[1] == "milestone"]
    assert [r[0] for r in milestones] == [f"milestone:rep:r1:revenue:{month}:100"]
    # and the broadcasts topic carries each announcement once, keyed by its id
    keys = [k for k, _ in _topic(deployment)]
    assert sorted(keys) == sorted(r[0].encode() for r in rows)


def test_corrections_of_announced_deals_are_announced_once_across_a_kill(
    deployment: Deployment,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    month = f"{now.year:04d}-{now.month:02d}"
    e = Events(first_id=random.randrange(10**9))
    history = [
        e.unit("co", "company", None), e.unit("t1", "team", "co"),
        e.join("r1", "t1", name="Ada"), e.join("r2", "t1", name="Bo"),
        e.target("rep:r1", "revenue", month, 1000),
    ]  # fmt: skip
    big = e.order("r1", now - timedelta(minutes=9), "1500", order_id="k-1")  # r1 hits 100 %
    small = e.order("r2", now - timedelta(minutes=8), "700", order_id="k-2")
    won = e.won("r2", now - timedelta(minutes=7), "d-1", "900")
    worker = deployment.start_worker()
    with deployment.publisher() as publisher:
        publisher.publish_many([*history, big, small, won])
    deployment.wait_idle()
    # given three announced deals and r1's milestone; when the big order is cancelled, the
    # small one re-sent with a new amount, the won deal reopened and the 700 split 50/50
    cancel = e.cancel("m", now - timedelta(minutes=3), "k-1")
    resent = e.order("r2", now - timedelta(minutes=2), "600", order_id="k-2")
    reopen = e.reopen("m", now - timedelta(minutes=2), "d-1")
    split = e.credit("m", now - timedelta(minutes=1), {"r1": "0.5", "r2": "0.5"}, order_id="k-2")
    with deployment.publisher() as publisher:
        publisher.publish_many([cancel, resent, reopen, split])
    deployment.wait_idle()
    # and the worker is killed and the corrections are produced again
    worker.kill()
    with deployment.publisher() as publisher:
        publisher.publish_many([cancel, resent, reopen, split])
    deployment.start_worker()
    deployment.wait_idle()
    # then each correction is announced once, keyed by its event id; the re-sent order is
    # not a second deal; r1's milestone is revoked once (r1 is at 300 of 1000 now)
    rows = _broadcasts(deployment)
    by_id = {r[0]: r for r in rows}
    assert [r[0] for r in rows if r[1] == "deal_won"] == [
        str(x.event_id) for x in (big, small, won)
    ]
    assert by_id[f"correction:{cancel.event_id}"][1] == "deal_retracted"
    assert by_id[f"correction:{cancel.event_id}"][2]["deal_id"] == str(big.event_id)
    assert by_id[f"correction:{reopen.event_id}"][1] == "deal_retracted"
    resent_row = by_id[f"correction:{resent.event_id}"]
    assert resent_row[1] == "deal_corrected" and resent_row[2]["amount"] == "600"
    split_row = by_id[f"correction:{split.event_id}"]
    assert split_row[1] == "deal_corrected" and split_row[2]["reps"] == [
        {"rep_id": "r1", "amount": "300"},
        {"rep_id": "r2", "amount": "300"},
    ]
    revoked = [r for r in rows if r[1] == "milestone_revoked"]
    assert [r[0] for r in revoked] == [f"revoked:milestone:rep:r1:revenue:{month}:100"]
    assert len(rows) == len({r[0] for r in rows}) == 3 + 1 + 4 + 1
    keys = [k for k, _ in _topic(deployment)]
    assert sorted(keys) == sorted(r[0].encode() for r in rows)
