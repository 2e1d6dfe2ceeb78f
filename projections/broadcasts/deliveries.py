"""Chat delivery state: which announcement (or digest) reached which channel, or failed.

Keyed by (channel, key): the notifier records a message's keys right after the platform took
it, so a restart sends nothing recorded, and a crash between sending and recording re-sends
at most that one message. A replay of the broadcasts topic finds every key recorded. Rows are
never deleted, so counting them gives Prometheus counters that only grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

CREATE_DELIVERIES = """
CREATE TABLE IF NOT EXISTS {r}.notify_deliveries (
    channel      text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    status       text COLLATE "C" NOT NULL CHECK (status IN ('sent', 'failed')),
    attempts     integer NOT NULL,
    message_id   text COLLATE "C" NOT NULL,
    error        text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, key)
)
"""
# DO NOTHING: a key is recorded once; a message re-sent after a crash does not rewrite it.
RECORD_DELIVERY = """
INSERT INTO {r}.notify_deliveries (channel, key, status, attempts, message_id, error)
SELECT %s, k, %s, %s, %s, %s FROM unnest(%s::text[]) AS k
ON CONFLICT (channel, key) DO NOTHING
"""
SELECT_RECORDED = (
    "SELECT key FROM {r}.notify_deliveries WHERE channel = %s AND key = ANY(%s::text[])"
)
SELECT_STATUS = """
SELECT channel,
       count(*) FILTER (WHERE status = 'sent'),
       count(*) FILTER (WHERE status = 'failed'),
       count(DISTINCT message_id) FILTER (WHERE status = 'sent'),
       coalesce(sum(attempts) FILTER (WHERE status = 'sent'), 0),
       max(recorded_at) FILTER (WHERE status = 'sent'),
       max(recorded_at) FILTER (WHERE status = 'failed')
FROM {r}.notify_deliveries GROUP BY channel ORDER BY channel
"""
SELECT_LAST_ERROR = """
SELECT DISTINCT ON (channel) channel, error FROM {r}.notify_deliveries
WHERE status = 'failed' ORDER BY channel, recorded_at DESC
"""


@dataclass(frozen=True)
class ChannelStatus:
    """One channel's deliveries so far (announcements and digests alike)."""

    channel: str
    sent: int  # keys delivered
    failed: int  # keys recorded as failed after every retry
    messages: int  # requests that delivered them (a summary carries many keys)
    attempts: int
    last_sent_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None


def _stmt(template: str, schema: str) -> sql.Composed:
    return sql.SQL(template).format(r=sql.Identifier(schema))


def ensure_deliveries(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(_stmt(CREATE_DELIVERIES, schema))


def recorded(
    conn: psycopg.Connection[Any], schema: str, channel: str, keys: Sequence[str]
) -> set[str]:
    """The keys already delivered to (or failed for) the channel."""
    if not keys:
        return set()
    rows = conn.execute(_stmt(SELECT_RECORDED, schema), (channel, list(keys))).fetchall()
    return {r[0] for r in rows}


def record(
    conn: psycopg.Connection[Any],
    schema: str,
    channel: str,
    keys: Sequence[str],
    *,
    status: str,
    attempts: int,
    message_id: str,
    error: str | None = None,
) -> None:
    conn.execute(
        _stmt(RECORD_DELIVERY, schema), (channel, status, attempts, message_id, error, list(keys))
    )


def channel_status(conn: psycopg.Connection[Any], schema: str) -> list[ChannelStatus]:
    """Per channel with any delivery: counts and the latest failure's reason."""
    try:
        rows = conn.execute(_stmt(SELECT_STATUS, schema)).fetchall()
        errors = dict(conn.execute(_stmt(SELECT_LAST_ERROR, schema)).fetchall())
    except psycopg.errors.UndefinedTable:
        return []  # no notifier has run against this database yet
    return [
        ChannelStatus(
            name, sent, failed, messages, attempts, last_sent, last_failed, errors.get(name)
        )
        for name, sent, failed, messages, attempts, last_sent, last_failed in rows
    ]
