"""The round trip through the real parts: Kafka topic → worker process → PostgreSQL row.

Both worker engines: the batch engine (the default) and the faust-streaming agent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer

from schemas.events import parse_event
from tests.integration.conftest import Deployment

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("engine", ["batch", "faust"]),
]


def _order(amount: str, day: str = "2026-11-03") -> dict[str, object]:
    return {
        "event_id": str(uuid4()),
        "type": "OrderSigned",
        "occurred_at": f"{day}T10:15:00+08:00",
        "rep_id": "r-017",
        "data": {"order_id": f"o-{uuid4().hex[:6]}", "account_id": "a-9",
                 "amount": amount, "currency": "USD"},
    }  # fmt: skip


def test_an_event_on_the_topic_lands_as_a_row_in_postgres(
    deployment: Deployment, engine: str
) -> None:
    # given a worker process consuming a fresh topic
    deployment.env["SALESPULSE_WORKER_ENGINE"] = engine
    worker = deployment.start_worker()
    # when one OrderSigned event is published
    with deployment.publisher() as publisher:
        publisher.publish(parse_event(_order("12500.00")))
    deployment.wait_idle()
    # then the revenue and orders rows of that rep and day hold its values
    schema = f"{deployment.settings.schema_prefix}_v1"
    with psycopg.connect(deployment.settings.database_url) as conn:
        rows = conn.execute(
            # An order's metrics are its entity's credited rows (projections/model/entities.py).
            f"SELECT metric, rep_id, day, value FROM {schema}.entity_credits ORDER BY metric"
        ).fetchall()
    assert rows == [
        ("orders", "r-017", date(2026, 11, 3), Decimal(1)),
        ("revenue", "r-017", date(2026, 11, 3), Decimal("12500.0000")),
    ]
    assert f"worker ({engine} engine)" in worker.output()
    # and SIGTERM stops it cleanly
    worker.stop()
    assert worker.proc is not None and worker.proc.returncode == 0, worker.output()[-2000:]


def test_a_poison_record_goes_to_the_dlq_and_the_worker_carries_on(
    deployment: Deployment, engine: str
) -> None:
    settings = deployment.settings
    deployment.env["SALESPULSE_WORKER_ENGINE"] = engine
    worker = deployment.start_worker()
    # given a record that is not Avro, written straight to the topic, between two good events
    with deployment.publisher() as publisher:
        publisher.publish(parse_event(_order("100.00")))
    raw = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    raw.send(settings.events_topic, key=b"r-017", value=b'{"not": "avro"}', partition=0).get(30)
    raw.close()
    with deployment.publisher() as publisher:
        publisher.publish(parse_event(_order("250.00")))
    # when the worker has applied everything in the log
    deployment.wait_idle()
    # then the poison record is on the DLQ with its reason, origin and offset in headers
    consumer = KafkaConsumer(
        settings.dlq_topic, bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", consumer_timeout_ms=10_000,
    )  # fmt: skip
    letters = list(consumer)
    consumer.close()
    assert len(letters) == 1
    letter = letters[0]
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == b'{"not": "avro"}' and letter.key == b"r-017"
    assert headers["dlq.topic"] == settings.events_topic
    assert headers["dlq.partition"] == "0"
    assert headers["dlq.error_type"] == "DecodeError"
    assert "marker" in headers["dlq.reason"]
    # and both good events around it were counted
    with deployment.store() as store:
        schema = store.schema
    with psycopg.connect(settings.database_url) as conn:
        total = conn.execute(
            f"SELECT sum(value) FROM {schema}.entity_credits WHERE metric = 'revenue'"
        ).fetchone()
    assert total == (Decimal("350.0000"),)
    assert f"worker ({engine} engine)" in worker.output()
