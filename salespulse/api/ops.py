"""Operations data: projection versions with build progress, consumer lag, Prometheus text.

The Prometheus exposition format is written by hand: a few counters and gauges do not
justify a client library and its process-global registry (which tests would share).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from projections.broadcasts.deliveries import ChannelStatus


@dataclass(frozen=True)
class PartitionLag:
    """One projection version's position in one partition of the events topic.

    applied_offset is the last applied record's offset (-1 for none), log_end_offset the
    offset the next record will get, so lag = log_end_offset - (applied_offset + 1): zero
    when everything in the log is applied (Kafka's own definition of consumer lag).
    """

    version: int
    partition: int
    applied_offset: int
    log_end_offset: int

    @property
    def lag(self) -> int:
        return max(0, self.log_end_offset - (self.applied_offset + 1))


@dataclass(frozen=True)
class VersionStatus:
    """A projection version as the registry knows it, with progress for one being built."""

    version: int
    status: str
    description: str
    schema_name: str | None
    created_at: datetime | None
    activated_at: datetime | None
    progress: Decimal | None
    lag: int | None


class OpsSource(Protocol):
    """Where versions and lag come from (the PostgreSQL registry and Kafka, or a Fake)."""

    def versions(self) -> list[VersionStatus]: ...

    def lag(self) -> list[PartitionLag] | None:
        """Per version and partition; None when the log end offsets cannot be read now."""
        ...


def progress_of(lags: Sequence[PartitionLag]) -> tuple[Decimal | None, int | None]:
    """(applied share of the log, total lag) over the partitions of one version."""
    if not lags:
        return None, None
    end = sum(x.log_end_offset for x in lags)
    lag = sum(x.lag for x in lags)
    if end == 0:
        return Decimal(1), 0
    done = Decimal(end - lag) / Decimal(end)
    return done.quantize(Decimal("0.0001")), lag


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


@dataclass(frozen=True)
class Family:
    """One metric family: name, type, help and its samples (labels, value)."""

    name: str
    kind: str  # counter or gauge
    help: str
    samples: tuple[tuple[dict[str, str], float], ...]


def render(families: Iterable[Family]) -> str:
    """Prometheus text exposition format, version 0.0.4."""
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {f.help}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        for labels, value in f.samples:
            number = str(int(value)) if float(value).is_integer() else repr(float(value))
            lines.append(f"{f.name}{_labels(labels)} {number}")
    return "\n".join(lines) + "\n"


class RequestMetrics:
    """Counters the app keeps about itself (thread-safe: sync routes run in a thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._ingested: Counter[str] = Counter()
        self.stream_clients: int = 0
        self.started: float = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            self._seconds[(method, route)] += seconds

    def ingested(self, accepted: int, rejected: int) -> None:
        with self._lock:
            self._ingested["accepted"] += accepted
            self._ingested["rejected"] += rejected

    def stream_opened(self, delta: int) -> None:
        with self._lock:
            self.stream_clients += delta

    def families(self) -> list[Family]:
        with self._lock:
            requests = tuple(
                ({"method": m, "route": r, "status": s}, float(n))
                for (m, r, s), n in sorted(self._requests.items())
            )
            seconds = tuple(
                ({"method": m, "route": r}, float(v)) for (m, r), v in sorted(self._seconds.items())
            )
            ingested = tuple(
                ({"outcome": k}, float(self._ingested[k])) for k in ("accepted", "rejected")
            )
            clients = float(self.stream_clients)
        return [
            Family(
                "salespulse_http_requests_total",
                "counter",
                "HTTP requests by method, route template and status.",
                requests,
            ),
            Family(
                "salespulse_http_request_seconds_total",
                "counter",
                "Time spent answering HTTP requests, by method and route template.",
                seconds,
            ),
            Family(
                "salespulse_ingest_events_total",
                "counter",
                "Events received by POST /api/events, accepted or rejected.",
                ingested,
            ),
            Family(
                "salespulse_stream_clients",
                "gauge",
                "Open server-sent event streams.",
                (({}, clients),),
            ),
            Family(
                "salespulse_api_start_time_seconds",
                "gauge",
                "When this API process started (Unix time).",
                (({}, float(int(self.started))),),
            ),
        ]


# The chat channels' delivery counts (projections/broadcasts/deliveries.py), or a Fake.
NotifyStatusSource = Callable[[], list[ChannelStatus]]


def notify_families(channels: Sequence[ChannelStatus]) -> list[Family]:
    """Chat deliveries per channel: announcement keys sent and failed, requests, attempts."""
    keys = tuple(
        ({"channel": c.channel, "status": status}, float(count))
        for c in channels
        for status, count in (("sent", c.sent), ("failed", c.failed))
    )
    return [
        Family(
            "salespulse_notify_deliveries_total",
            "counter",
            "Announcements and digests recorded per chat channel, sent or failed after retries.",
            keys,
        ),
        Family(
            "salespulse_notify_messages_total",
            "counter",
            "Chat messages that delivered them (a coalesced summary carries many).",
            tuple(({"channel": c.channel}, float(c.messages)) for c in channels),
        ),
        Family(
            "salespulse_notify_attempts_total",
            "counter",
            "HTTP requests made for the delivered keys, retries included.",
            tuple(({"channel": c.channel}, float(c.attempts)) for c in channels),
        ),
    ]


def lag_families(lags: Sequence[PartitionLag] | None) -> list[Family]:
    """Consumer lag per projection version and partition, and the offsets behind it."""
    up = Family(
        "salespulse_log_offsets_up",
        "gauge",
        "1 when the events topic's end offsets could be read for this scrape.",
        (({}, 0.0 if lags is None else 1.0),),
    )
    if lags is None:
        return [up]

    def samples(value: str) -> tuple[tuple[dict[str, str], float], ...]:
        out = []
        for x in lags:
            labels = {"version": str(x.version), "partition": str(x.partition)}
            out.append((labels, float(getattr(x, value))))
        return tuple(out)

    return [
        up,
        Family(
            "salespulse_consumer_lag",
            "gauge",
            "Records in the events topic not yet applied: log end offset - (applied offset + 1).",
            samples("lag"),
        ),
        Family(
            "salespulse_applied_offset",
            "gauge",
            "Offset of the last record applied to a projection version (-1 for none).",
            samples("applied_offset"),
        ),
        Family(
            "salespulse_log_end_offset",
            "gauge",
            "Offset the next record written to the partition will get.",
            samples("log_end_offset"),
        ),
    ]
