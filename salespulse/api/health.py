"""Which dependency is down, known before anyone asks: /health answers from the last probe.

A probe that ran per request would make /health as slow as the dependency it is asking
about (28 s under load was measured); here a background task probes every PROBE_EVERY_S
and the route only reads the result.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

import anyio.to_thread
import psycopg

from salespulse.api.sse import ChangeHub

log = logging.getLogger(__name__)

PROBE_EVERY_S = 1.0
PROBE_TIMEOUT_S = 1.0


def kafka_answers(bootstrap: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when any bootstrap broker accepts a TCP connection."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


class DependencyProbe:
    """The last known state of PostgreSQL and Kafka ("up", "down"; "unknown" before the first
    probe), kept by `run`, read by /health and the stream."""

    def __init__(self, database_url: str, kafka_bootstrap: str) -> None:
        self.database_url, self.kafka_bootstrap = database_url, kafka_bootstrap
        self._lock = threading.Lock()
        self._state = {"postgres": "unknown", "kafka": "unknown"}
        self._since = time.time()
        self._conn: psycopg.Connection[Any] | None = None

    def state(self) -> dict[str, str]:
        with self._lock:
            return dict(self._state)

    def down(self) -> list[str]:
        return sorted(name for name, state in self.state().items() if state == "down")

    def probe(self) -> dict[str, str]:
        """Probe both now (blocking, at most about PROBE_TIMEOUT_S each)."""
        state = {
            "postgres": "up" if self._postgres_answers() else "down",
            "kafka": "up" if kafka_answers(self.kafka_bootstrap) else "down",
        }
        with self._lock:
            changed, self._state = state != self._state, state
        if changed:
            log.warning("dependencies: %s", ", ".join(f"{k} {v}" for k, v in state.items()))
        return state

    def _postgres_answers(self) -> bool:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(
                    self.database_url, autocommit=True, connect_timeout=int(PROBE_TIMEOUT_S) + 1
                )
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return False

    def task(self) -> Any:
        """The app's background task: probe forever, wake the streams on a change."""

        async def run(hub: ChangeHub) -> None:
            try:
                while True:
                    before = self.state()
                    after = await anyio.to_thread.run_sync(self.probe)
                    if after != before:
                        hub.notify("projection")  # streams re-read, and say what is down
                    await asyncio.sleep(PROBE_EVERY_S)
            finally:
                if self._conn is not None:
                    self._conn.close()

        return run
