"""`salespulse notify` against a loopback chat receiver: formats, signatures, once-only delivery.

The announcements are put on a private broadcasts topic the way the worker relays them
(streams/announcer.topic_record); the notifier is a real process with its own consumer group
and delivery table in PostgreSQL, killed with SIGKILL where the test says so.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from projections.broadcasts.log import Broadcast
from salespulse.api.auth import TokenBook
from salespulse.api.server import build_app
from salespulse.runtime import ensure_active_version
from streams.announcer import topic_record
from tests.integration.conftest import Deployment
from tests.support.api import AUTH_TOML, TOKENS
from tests.support.chat_receiver import ChatReceiver
from tests.support.worker import WorkerProcess

pytestmark = pytest.mark.integration

SECRETS = {"ding": "SEC-ding-123", "fei": "fei-secret-xyz", "hook": "hook-secret"}


def _free_port() -> int:
    for port in range(16500, 16600):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 16500-16599")


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    chat = ChatReceiver(_free_port(), secrets=dict(SECRETS)).start()
    yield chat
    chat.stop()


def win(n: int, *, rep: str = "Ada", unit: str = "east", amount: str = "12500", live: bool = True,
        at: datetime | None = None) -> Broadcast:  # fmt: skip
    at = at or datetime.now(UTC)
    payload = {
        "source": "OpportunityWon", "rep_id": f"r-{n}", "rep_name": f"{rep}-{n:03d}",
        "unit_id": unit, "unit_name": unit.title(), "amount": amount,
        "account_id": f"acct-{n:03d}", "live": live, "rank_before": 3, "rank_after": 1,
        "month_completion": "0.8125",
    }  # fmt: skip
    return Broadcast(n, f"{uuid.uuid4()}", "deal_won", payload, at, at)


def publish(deployment: Deployment, broadcasts: list[Broadcast]) -> None:
    producer = KafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap)
    for b in broadcasts:
        key, value = topic_record(b)
        producer.send(deployment.settings.broadcasts_topic, key=key, value=value)
    producer.flush()
    producer.close()


def channels_file(tmp_path: Path, receiver: ChatReceiver, channels: list[dict[str, Any]]) -> Path:
    lines = []
    for ch in channels:
        lines.append("[[channel]]")
        ch = {"url": receiver.url(ch["kind"], ch["name"]), **ch}
        for k, v in ch.items():
            lines.append(f"{k} = {json.dumps(v)}")
    path = tmp_path / f"channels-{uuid.uuid4().hex[:6]}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def start_notify(deployment: Deployment, path: Path, group: str | None = None) -> WorkerProcess:
    env = {
        **deployment.env,
        "SALESPULSE_NOTIFY_GROUP": group or deployment.env["SALESPULSE_WORKER_GROUP"] + "-notify",
    }
    log = deployment.log_dir / f"notify-{uuid.uuid4().hex[:6]}.log"
    proc = WorkerProcess(env, log, args=("notify", "--channels", str(path))).start()
    deployment.workers.append(proc)  # stopped with the deployment
    return proc


def wait_for(condition: Callable[[], bool], proc: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or not proc.alive:
            pytest.fail(f"timed out (alive={proc.alive})\n{proc.output()[-3000:]}")
        time.sleep(0.1)


def deliveries(deployment: Deployment) -> list[tuple[str, str, str, int]]:
    schema = deployment.settings.schema_prefix
    with psycopg.connect(deployment.settings.database_url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.notify_deliveries",)).fetchone()
        if exists is None or exists[0] is None:
            return []  # the notifier has not started yet
        rows = conn.execute(
            f"SELECT channel, key, status, attempts FROM {schema}.notify_deliveries "
            "ORDER BY channel, key"
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_win_reaches_every_matching_channel_once_in_each_platforms_format(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    # given one channel per platform (three signed), one for another team, one with a minimum
    channels = [
        {"name": "sl", "kind": "slack"},
        {"name": "tm", "kind": "teams"},
        {"name": "wc", "kind": "wecom", "scope": "unit:east", "language": "zh-CN"},
        {"name": "ding", "kind": "dingtalk", "secret": SECRETS["ding"], "language": "zh-CN"},
        {"name": "fei", "kind": "feishu", "secret": SECRETS["fei"]},
        {"name": "hook", "kind": "webhook", "secret": SECRETS["hook"]},
        {"name": "west", "kind": "slack", "scope": "unit:west"},
        {"name": "big", "kind": "slack", "min_amount": "100000"},
    ]
    proc = start_notify(deployment, channels_file(tmp_path, receiver, channels))
    # when a live win, a 40-day-old (not live) one and a re-copy of the first are relayed
    first = win(1)
    old = win(2, live=False, at=datetime.now(UTC) - timedelta(days=40))
    publish(deployment, [first, old, first])
    matching = ["sl", "tm", "wc", "ding", "fei", "hook"]
    wait_for(lambda: all(receiver.of(c) for c in matching), proc)
    time.sleep(2.0)  # anything sent twice, or to a channel that does not match, arrives by now
    # then each matching channel got it once, in its platform's format, correctly signed
    for name in matching:
        got = receiver.of(name)
        assert len(got) == 1, name
        assert got[0].problems == [] and got[0].status == 200, (name, got[0].problems)
        assert "Ada-001" in got[0].text and "acct-001" in got[0].text
        assert "12,500.00 USD" in got[0].text
    assert "喜报" in receiver.of("wc")[0].text and "Deal won" in receiver.of("sl")[0].text
    assert receiver.of("west") == [] and receiver.of("big") == []
    assert not any("Ada-002" in r.text for r in receiver.received)
    # and the delivery state says so
    assert [(c, k, s) for c, k, s, _ in deliveries(deployment)] == sorted(
        (c, first.broadcast_id, "sent") for c in matching
    )


def test_a_wrong_signature_is_refused_by_the_platform_and_recorded_failed(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    # given a DingTalk channel configured with a secret the robot does not have
    channels = [{"name": "ding", "kind": "dingtalk", "secret": "not-the-robots-secret"}]
    proc = start_notify(deployment, channels_file(tmp_path, receiver, channels))
    publish(deployment, [win(1)])
    # then the robot's error code is final: one try, recorded as failed
    wait_for(lambda: bool(deliveries(deployment)), proc)
    assert receiver.of("ding")[0].problems == ["dingtalk: sign does not match"]
    assert [(s, a) for _, _, s, a in deliveries(deployment)] == [("failed", 1)]


def test_100_wins_in_a_minute_to_one_wecom_channel_make_at_most_20_requests_naming_all(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    channels = [{"name": "floor", "kind": "wecom"}]
    proc = start_notify(deployment, channels_file(tmp_path, receiver, channels))
    wins = [win(n) for n in range(100)]
    # when 100 wins arrive in ten bursts over about five seconds
    for i in range(10):
        publish(deployment, wins[i * 10 : (i + 1) * 10])
        time.sleep(0.5)
    names = [f"acct-{n:03d}" for n in range(100)]
    wait_for(lambda: all(any(a in r.text for r in receiver.of("floor")) for a in names), proc)
    got = receiver.of("floor")
    # then at most 20 requests, none refused by WeCom's limit, each deal named exactly once
    assert len(got) <= 20
    assert all(r.problems == [] and r.body == r.body and "errcode" not in r.text for r in got)
    assert all(sum(a in r.text for r in got) == 1 for a in names)
    assert {s for _, _, s, _ in deliveries(deployment)} == {"sent"}
    assert len(deliveries(deployment)) == 100


def test_sigkill_mid_burst_then_restart_resends_nothing_recorded(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    # given a channel sending a message every 0.5 s and 30 wins queued for it
    channels = [{"name": "hook", "kind": "webhook", "secret": SECRETS["hook"], "per_minute": 120}]
    path = channels_file(tmp_path, receiver, channels)
    proc = start_notify(deployment, path)
    wins = [win(n) for n in range(30)]
    for b in wins:  # one by one, so that they go out as several messages
        publish(deployment, [b])
        time.sleep(0.05)
    # when the notifier is SIGKILLed after a few messages, and started again
    wait_for(lambda: len(receiver.of("hook")) >= 3, proc)
    proc.kill()
    before = len(receiver.of("hook"))
    recorded = {k for _, k, _, _ in deliveries(deployment)}
    proc = start_notify(deployment, path)
    keys = {b.broadcast_id for b in wins}
    wait_for(lambda: {k for _, k, _, _ in deliveries(deployment)} == keys, proc)
    # then nothing recorded before the kill is sent again; at most the one message in flight
    # (sent, not recorded yet) is repeated
    after = receiver.of("hook")[before:]
    again = [k for r in after for k in r.body["keys"] if k in recorded]
    assert again == []
    first = receiver.of("hook")[:before]
    repeated = [
        r
        for r in first
        if any(k in {k for a in after for k in a.body["keys"]} for k in r.body["keys"])
    ]
    assert len(repeated) <= 1
    named = [k for r in receiver.of("hook") for k in r.body["keys"]]
    assert set(named) == keys


def test_a_replay_of_the_topic_and_a_restart_send_nothing_and_the_digest_goes_once(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    ensure_active_version(deployment.settings)  # an (empty) projection for the digest
    channels = [{"name": "sl", "kind": "slack", "daily_digest": "00:00"}]
    path = channels_file(tmp_path, receiver, channels)
    proc = start_notify(deployment, path)
    wins = [win(n) for n in range(3)]
    publish(deployment, wins)
    wait_for(lambda: len(deliveries(deployment)) == 4, proc)  # three wins and today's digest
    sent = len(receiver.of("sl"))
    proc.stop()
    # when a notifier in a new consumer group reads the whole topic again (a replay), and
    # the worker's outbox copies the same announcements once more
    proc = start_notify(deployment, path, group=f"replay-{uuid.uuid4().hex[:6]}")
    publish(deployment, wins)
    assert proc.wait_for_output("notify:", 30)
    time.sleep(4.0)
    # then nothing more is sent
    assert len(receiver.of("sl")) == sent
    digests = [r for r in receiver.of("sl") if "Daily digest" in r.text]
    assert len(digests) == 1 and digests[0].problems == []


def test_a_channel_answering_500_is_retried_then_failed_without_blocking_the_others(
    deployment: Deployment, receiver: ChatReceiver, tmp_path: Path
) -> None:
    receiver.failing.add("down")
    channels = [
        # (600 a minute: the pauses are the backoff's, not the pace's)
        {"name": "down", "kind": "slack", "retries": 4, "backoff_s": 0.3, "per_minute": 600},
        {"name": "up", "kind": "slack"},
    ]
    proc = start_notify(deployment, channels_file(tmp_path, receiver, channels))
    publish(deployment, [win(1)])
    wait_for(lambda: any(c == "down" for c, _, _, _ in deliveries(deployment)), proc)
    down, up = receiver.of("down"), receiver.of("up")
    # then the failing channel was tried 4 times with growing pauses, and recorded failed
    assert len(down) == 4
    gaps = [b.at - a.at for a, b in itertools.pairwise(down)]
    assert gaps[0] >= 0.25 and gaps[2] > gaps[0] * 2.5
    assert [(c, s, a) for c, _, s, a in deliveries(deployment)] == [
        ("down", "failed", 4),
        ("up", "sent", 1),
    ]
    # while the other got its message before the first retry
    assert len(up) == 1 and up[0].at < down[1].at

    # and the admins' status endpoint and the Prometheus counters show both channels
    app = build_app(deployment.settings, TokenBook.from_toml(AUTH_TOML))
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {TOKENS['admin']}"}
        status = client.get("/api/notify/status", headers=admin).json()["channels"]
        assert [(c["channel"], c["sent"], c["failed"]) for c in status] == [
            ("down", 0, 1),
            ("up", 1, 0),
        ]
        assert status[0]["last_error"] == "HTTP 500"
        rep = {"Authorization": f"Bearer {TOKENS['rep_r1']}"}
        assert client.get("/api/notify/status", headers=rep).status_code == 403
        metrics = client.get("/metrics", headers=admin).text
        assert 'salespulse_notify_deliveries_total{channel="down",status="failed"} 1' in metrics
        assert 'salespulse_notify_deliveries_total{channel="up",status="sent"} 1' in metrics
