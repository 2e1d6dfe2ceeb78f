"""Quix Streams on the peers workload (README.md here), with its PostgreSQL sink.

Run with the peers' own virtualenv (bench/peers/run.sh installs quixstreams there):
  python bench/peers/quix_app.py BOOTSTRAP TOPIC GROUP DATABASE_URL TABLE
OrderSigned records are recognised by their Avro fingerprint (the others are skipped without
decoding, as the Kafka Streams peer does), decoded by schemas.trusted, de-duplicated by
event_id in Quix state (keyed like the topic: duplicates share the key, hence the partition),
summed per rep per org-local day in state, and upserted by the sink on (rep_id, day).
Amounts travel as integers of 1/10,000 (the wire scale): Quix state is JSON.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from quixstreams import Application, State
from quixstreams.models.serializers import Deserializer
from quixstreams.sinks.community.postgresql import PostgreSQLSink

from schemas.registry import default_registry
from schemas.trusted import decode_trusted

HEADER = default_registry().latest("OrderSigned").header
ZONE = ZoneInfo(os.environ.get("SALESPULSE_TZ", "UTC"))
BASE = os.environ.get("SALESPULSE_BASE_CURRENCY", "USD")


class OrderSignedOnly(Deserializer):
    def __call__(self, value: bytes, ctx: Any) -> Any:
        if value[:10] != HEADER:
            return None
        e = decode_trusted(value)
        if e.data.currency != BASE:
            raise ValueError(f"this peer converts no currencies: {e.data.currency}")
        day = e.occurred_at.astimezone(ZONE).date().isoformat()
        return {"id": str(e.event_id), "rep": e.rep_id, "day": day,
                "e4": int(e.data.amount.scaleb(4))}  # fmt: skip


def totals(order: dict[str, Any], state: State) -> dict[str, Any] | None:
    if state.get(order["id"]) is not None:
        return None  # a repeat of an event already counted
    state.set(order["id"], 1)
    key = f"{order['rep']}|{order['day']}"
    revenue_e4, orders = state.get(key, [0, 0])
    state.set(key, [revenue_e4 + order["e4"], orders + 1])
    return {"rep_id": order["rep"], "day": order["day"], "revenue_e4": revenue_e4 + order["e4"],
            "orders": orders + 1}  # fmt: skip


def main() -> None:
    bootstrap, topic, group, url, table = sys.argv[1:6]
    db = urlparse(url)
    app = Application(
        broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
        commit_interval=1.0, state_dir=os.environ.get("PEERS_STATE_DIR", "/tmp/quix-peers"),
    )  # fmt: skip
    sdf = app.dataframe(app.topic(topic, value_deserializer=OrderSignedOnly()))
    sdf = sdf.filter(lambda v: v is not None).apply(totals, stateful=True)
    sdf = sdf.filter(lambda v: v is not None)
    sdf.sink(
        PostgreSQLSink(
            host=db.hostname or "127.0.0.1", port=db.port or 5432, dbname=db.path.lstrip("/"),
            user=db.username or "postgres", password=db.password or "", table_name=table,
            schema_auto_update=True, primary_key_columns=["rep_id", "day"],
            upsert_on_primary_key=True,
        )
    )  # fmt: skip
    app.run()


if __name__ == "__main__":
    main()
