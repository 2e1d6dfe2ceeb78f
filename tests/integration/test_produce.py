"""`salespulse produce` on the real broker: per-line errors, exit status, each good event once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.publisher import partition_key
from schemas.codec import decode
from schemas.events import AnyEvent

pytestmark = pytest.mark.integration

PARTITIONS = 3


def _event(event_id: str, type_: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": type_,
        "occurred_at": "2026-11-03T09:30:00+08:00",
        "rep_id": "r-017",
        "data": data,
        **envelope,
    }


VISIT = _event(
    "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11",
    "VisitCompleted",
    {
        "visit_id": "v-1",
        "account_id": "a-9",
        "visit_type": "planned",
        "duration_min": 40,
        "face_to_face": True,
        "key_account": False,
    },
)
OPPORTUNITY = _event(
    "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "OpportunityCreated",
    {
        "opportunity_id": "opp-1",
        "account_id": "a-9",
        "amount": "12500.00",
        "currency": "USD",
        "product_line": "pumps",
        "stage": "prospecting",
        "expected_close": "2026-12-15",
    },
    occurred_at="2026-11-03T10:00:00-05:00",
)
WON = _event(
    "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    "OpportunityWon",
    {"opportunity_id": "opp-1", "amount": 12500.10},  # a JSON number, read as a Decimal
)
TARGET = _event(
    "9b2f5c3e-1d4a-4c8e-b6f7-0a1b2c3d4e5f",
    "TargetSet",
    {"scope": "rep:r-017", "metric": "revenue", "period": "2026-Q4", "value": "300000"},
)
del TARGET["rep_id"]  # optional for TargetSet

# The input file, line by line: valid events, one of each kind of mistake, and a duplicate.
LINES = [
    json.dumps(VISIT),  # 1
    json.dumps({**VISIT, "event_id": "0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b1Z"}),  # 2 bad UUID
    json.dumps(OPPORTUNITY),  # 3
    json.dumps({**WON, "event_id": "2c1f6a0e-8d3b-4e5f-a6b7-c8d9e0f1a2b3",  # 4 money
                "data": {"opportunity_id": "opp-1", "amount": "12.500.10"}}),
    "",  # 5 blank: skipped
    json.dumps({**VISIT, "event_id": "3d2e7b1f-9e4c-4f60-b7c8-d9e0f1a2b3c4",  # 6 unknown type
                "type": "VisitScheduled"}),
    json.dumps({k: v for k, v in {**VISIT, "event_id": "4e3f8c20-af5d-4071-88d9-e0f1a2b3c4d5"}
                .items() if k != "rep_id"}),  # 7 missing rep_id
    json.dumps(WON),  # 8
    json.dumps({**TARGET, "event_id": "5f40913a-b06e-4182-99ea-f1a2b3c4d5e6",  # 9 bad period
                "data": {**TARGET["data"], "period": "2026-Q7"}}),
    json.dumps(TARGET),  # 10
    json.dumps(OPPORTUNITY),  # 11 duplicate of line 3
]  # fmt: skip

EXPECTED_ERRORS = [
    "line 2: event_id: '0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b1Z' is not a valid UUID",
    "line 4: data.amount: '12.500.10' is not a decimal number",
    "line 6: type: unknown event type 'VisitScheduled'",
    "line 7: rep_id: required field is missing",
    "line 9: data.period: invalid period '2026-Q7': "
    "expected YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD",
    "line 11: event_id: duplicate of line 3",
]
VALID = [VISIT, OPPORTUNITY, WON, TARGET]


# The command exactly as salespulse/cli.py mounts it (add_parser, then args.run), in its own
# process, without importing the other subcommands: this test is about `produce` alone.
_MAIN = """
import argparse, sys
from salespulse.commands import produce
parser = argparse.ArgumentParser(prog="salespulse")
produce.add_parser(parser.add_subparsers())
args = parser.parse_args()
sys.exit(args.run(args))
"""


def _produce(
    args: list[str],
    kafka_bootstrap: str,
    topic: str,
    stdin: str | None = None,
    projections: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SALESPULSE_EVENTS_TOPIC": topic,
        "SALESPULSE_PARTITIONS": str(PARTITIONS),
        # A TargetSet is checked against the target locks of the projections there.
        **(projections or {}),
    }
    return subprocess.run(
        [sys.executable, "-c", _MAIN, "produce", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _read_topic(kafka_bootstrap: str, topic: str) -> list[tuple[int, bytes, AnyEvent]]:
    """Every record on the topic from offset 0 to the current end: (partition, key, event)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        out = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                out += [(tp.partition, r.key, decode(r.value)) for r in records]
        return out
    finally:
        consumer.close()


@pytest.fixture
def topic(kafka_bootstrap: str, unique_topic: str) -> Iterator[str]:
    yield unique_topic
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests")
    try:
        if unique_topic in admin.list_topics():
            admin.delete_topics([unique_topic])
    finally:
        admin.close()


def test_produce_reports_bad_lines_and_publishes_every_good_one_exactly_once(
    tmp_path: Path, kafka_bootstrap: str, topic: str, database_url: str, pg_schema: str
) -> None:
    # Given a file with good lines, one line per kind of mistake, and a duplicate
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    # (and projections that know no target lock: no projection version yet)
    projections = {"DATABASE_URL": database_url, "SALESPULSE_SCHEMA_PREFIX": pg_schema}

    # When it is produced
    result = _produce([str(path)], kafka_bootstrap, topic, projections=projections)

    # Then every problem is reported by line and field, and the exit status says so
    assert result.stderr.splitlines() == EXPECTED_ERRORS
    assert result.stdout.splitlines() == ["published 4, rejected 6"]
    assert result.returncode == 1

    # and each valid event is on the log once, intact, keyed by its aggregate
    records = _read_topic(kafka_bootstrap, topic)
    ids = Counter(str(event.event_id) for _, _, event in records)
    assert ids == Counter(e["event_id"] for e in VALID)
    for _, key, event in records:
        assert key == partition_key(event)
        assert event.source == "cli-produce" and event.recorded_at is not None
    by_id = {str(e.event_id): e for _, _, e in records}
    assert by_id[OPPORTUNITY["event_id"]].occurred_at.isoformat() == "2026-11-03T10:00:00-05:00"
    assert str(by_id[WON["event_id"]].data.amount) == "12500.1000"  # type: ignore[attr-defined]
    # the opportunity's two events share a key, hence a partition, hence their order
    opp = [(p, e.type) for p, _, e in records if e.type.startswith("Opportunity")]
    assert [t for _, t in opp] == ["OpportunityCreated", "OpportunityWon"]
    assert len({p for p, _ in opp}) == 1


def test_produce_creates_the_topic_with_infinite_retention(
    tmp_path: Path, kafka_bootstrap: str, topic: str
) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(VISIT) + "\n")

    result = _produce([str(path)], kafka_bootstrap, topic)

    assert (result.returncode, result.stdout, result.stderr) == (0, "published 1, rejected 0\n", "")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests")
    try:
        (described,) = admin.describe_topics([topic])
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    assert len(described["partitions"]) == PARTITIONS
    assert configs["topic"][topic]["retention.ms"]["value"] == "-1"


def test_produce_reads_stdin(kafka_bootstrap: str, topic: str) -> None:
    result = _produce(["-"], kafka_bootstrap, topic, stdin=json.dumps(VISIT) + "\n")

    assert (result.returncode, result.stdout) == (0, "published 1, rejected 0\n")
    assert [str(e.event_id) for _, _, e in _read_topic(kafka_bootstrap, topic)] == [
        VISIT["event_id"]
    ]


def test_a_file_of_only_bad_lines_needs_no_broker(tmp_path: Path, topic: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n")

    # An address nothing listens on: produce must not try to connect.
    result = _produce([str(path)], "127.0.0.1:1", topic)

    assert result.returncode == 1
    assert result.stdout == "published 0, rejected 1\n"
    assert result.stderr.startswith("line 1: invalid JSON: ")


def test_an_unreachable_broker_is_exit_status_2(tmp_path: Path, topic: str) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(VISIT) + "\n")

    result = _produce([str(path)], "127.0.0.1:1", topic)

    assert result.returncode == 2
    assert "cannot reach Kafka at 127.0.0.1:1" in result.stderr
