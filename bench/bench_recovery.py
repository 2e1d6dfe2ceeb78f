"""Recovery times of the fault suite's faults, measured on the local stack (not asserted).

    .venv/bin/python bench/bench_recovery.py [--outage-s 5]

For each fault: 2 workers and the API run, a simulated history is published in chunks, the
fault lands 2 s in and lasts --outage-s. Printed: the seconds from the server being back to
(a) the API answering reads again and (b) the workers having applied the whole log (lag 0),
and how long /health took to name the dependency down. Crashes the local stack's servers:
run it against your own stack only (it refuses otherwise).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from kafka.admin import KafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.offsets import end_offsets, lag
from infra.settings import Settings
from producers.simulator import SimConfig
from producers.simulator.history import iter_events
from salespulse.runtime import ensure_active_version, live_offsets
from schemas.events import parse_event
from tests.support.api_process import ApiProcess
from tests.support.faults import LoadPublisher, local_servers_or_skip
from tests.support.worker import WorkerProcess


def _until(check, timeout: float = 300.0) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit("bench_recovery: no recovery within the timeout")


def run(fault: str, outage_s: float, base: Settings, work: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    topic = f"bench.recovery.{tag}.events"
    admin = KafkaAdminClient(bootstrap_servers=base.kafka_bootstrap)
    admin.create_topics([NewTopic(n, 3, 1) for n in (topic, topic + ".dlq", topic + ".b")])
    admin.close()
    env = {
        "KAFKA_BOOTSTRAP": base.kafka_bootstrap, "DATABASE_URL": base.database_url,
        "SALESPULSE_EVENTS_TOPIC": topic, "SALESPULSE_DLQ_TOPIC": topic + ".dlq",
        "SALESPULSE_BROADCASTS_TOPIC": topic + ".b", "SALESPULSE_PARTITIONS": "3",
        "SALESPULSE_SCHEMA_PREFIX": f"bench_rec_{tag}", "SALESPULSE_WORKER_GROUP": f"bench-{tag}",
    }  # fmt: skip
    settings = Settings.from_env(env)
    servers = local_servers_or_skip(settings)
    ensure_active_version(settings)
    workers = [WorkerProcess(env, work / f"{tag}-w{i}.log").start() for i in range(2)]
    for w in workers:
        w.wait_for_output("engine):", 60)
    api = ApiProcess(env, work / f"{tag}-api.log").start()
    events = [parse_event(r) for r in iter_events(SimConfig(reps=24, days=14, seed=12))]
    load = LoadPublisher(settings, events).start()
    time.sleep(2.0)
    reads = f"{api.url}/api/goals?scope=company"
    if fault == "postgres":
        servers.crash_postgres()
        told = _until(lambda: httpx.get(f"{api.url}/health", timeout=1).status_code == 503)
        time.sleep(max(0.0, outage_s - told))
        servers.start_postgres()
    else:
        servers.kill_kafka()
        told = _until(lambda: httpx.get(f"{api.url}/health", timeout=1).status_code == 503)
        time.sleep(max(0.0, outage_s - told))
        servers.start_kafka()
    back = time.monotonic()
    api_s = _until(lambda: httpx.get(reads, timeout=5).status_code == 200)
    load.join(600)
    published = time.monotonic() - back
    target = end_offsets(settings.kafka_bootstrap, topic)

    def idle() -> bool:
        return not any(any(lag(target, a).values()) for a in live_offsets(settings).values())

    _until(idle, 600)
    caught_up = time.monotonic() - back
    print(
        f"{fault}: /health named it down after {told:.1f}s; after the server was back, reads "
        f"answered in {api_s:.1f}s and the log ({len(events)} events, {load.retries} publish "
        f"retries) was all published {published:.1f}s and applied {caught_up:.1f}s later; "
        "workers alive: "
        f"{sum(w.alive for w in workers)}/2",
        flush=True,
    )
    api.stop()
    for w in workers:
        w.stop()
    with psycopg.connect(base.database_url, autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"bench_rec_{tag}%",)
        ).fetchall():
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage-s", type=float, default=5.0)
    parser.add_argument("--faults", default="postgres,kafka")
    args = parser.parse_args()
    base = Settings.from_env()
    with tempfile.TemporaryDirectory() as work:
        for fault in args.faults.split(","):
            run(fault, args.outage_s, base, Path(work))


if __name__ == "__main__":
    main()
