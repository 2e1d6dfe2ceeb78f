"""End-to-end latency of a deal win: handed to the Kafka producer -> `deal_won` frame read by an
SSE client on GET /api/stream, while the floor keeps logging calls and visits.

Per batch window (SALESPULSE_BATCH_WITHIN_MS) a private deployment: its own topics, consumer
group and schemas; one `salespulse worker`, one `salespulse api`, a load process publishing
ordinary activity at --load-rate for the whole run, and this process publishing --wins
OpportunityWon events at --win-rate, each stamped with its send time, while its SSE client
stamps each frame's arrival. Everything is removed at the end (unless --keep).

Usage: .venv/bin/python bench/bench_latency.py [--wins 1000] [--win-rate 20] [--load-rate 1000]
           [--within-ms 100,20] [--out FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib as bl
import httpx
import psycopg

from infra.offsets import end_offsets, lag
from infra.publisher import EventPublisher
from infra.settings import Settings
from infra.topics import ensure_topics
from salespulse.runtime import ensure_active_version, live_offsets
from tests.support.builders import Events

REPS = [f"r{i:02d}" for i in range(1, 21)]
DRAIN_S = 30.0  # after the last win, how long missing frames are waited for


# -- the private deployment -----------------------------------------------------------------
def variant_env(within_ms: int, stamp: str) -> dict[str, str]:
    """Names under the bench run's (bench/run.sh exports bench.<id>...), else a fresh run id, so
    bench/cleanup.py also removes them."""
    env = dict(os.environ)
    topic = env.get("SALESPULSE_EVENTS_TOPIC", "")
    if topic.startswith("bench."):
        base = topic.rsplit(".", 1)[0]
        schema, group = env["SALESPULSE_SCHEMA_PREFIX"], env["SALESPULSE_WORKER_GROUP"]
    else:
        base, schema, group = f"bench.{stamp}", f"bench_{stamp}", f"bench-{stamp}"
    tag = f"lat{within_ms}"
    return env | {
        "SALESPULSE_EVENTS_TOPIC": f"{base}.{tag}.events",
        "SALESPULSE_DLQ_TOPIC": f"{base}.{tag}.dlq",
        "SALESPULSE_BROADCASTS_TOPIC": f"{base}.{tag}.broadcasts",
        "SALESPULSE_SCHEMA_PREFIX": f"{schema}_{tag}",
        "SALESPULSE_WORKER_GROUP": f"{group}-{tag}",
        "SALESPULSE_BATCH_WITHIN_MS": str(within_ms),
    }


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_applied(s: Settings, timeout: float = 120.0) -> None:
    target = end_offsets(s.kafka_bootstrap, s.events_topic)
    deadline = time.monotonic() + timeout
    ensure_active_version(s)  # the registry exists before the worker has made it
    while time.monotonic() < deadline:
        versions = live_offsets(s).values()
        if versions and not any(any(lag(target, a).values()) for a in versions):
            return
        time.sleep(0.2)
    raise SystemExit(f"bench_latency: the worker did not apply the org within {timeout:.0f} s")


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench_latency: the API exited ({proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench_latency: {url} did not answer within {timeout:.0f} s")


# -- the SSE client -------------------------------------------------------------------------
@dataclass
class StreamClient:
    """Reads GET /api/stream in a thread; stamps each deal_won frame when its last line lands."""

    url: str
    arrivals: list[tuple[str, float, float]] = field(default_factory=list)  # id, perf, wall
    connected: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> StreamClient:
        threading.Thread(target=self._run, name="sse", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        timeout = httpx.Timeout(5.0, read=60.0)
        with httpx.Client(timeout=timeout) as client, client.stream("GET", self.url) as response:
            response.raise_for_status()
            event, data = "", ""
            for line in response.iter_lines():
                self.connected.set()
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and event:
                    if event == "deal_won":
                        now = (time.perf_counter(), time.time())
                        self.arrivals.append((json.loads(data)["broadcast_id"], *now))
                    event, data = "", ""


# -- the load -------------------------------------------------------------------------------
def run_load(rate: float, seconds: float) -> None:
    """The background floor (a separate process, so its work never delays a stamp here):
    calls and visits at `rate` per second, in 10 ms ticks."""
    e = Events(first_id=uuid.uuid4().int >> 64)
    sent, began = 0, time.perf_counter()
    with EventPublisher(Settings.from_env(), source="bench-load") as publisher:
        while (elapsed := time.perf_counter() - began) < seconds:
            due = int(elapsed * rate) - sent
            now = datetime.now(UTC)
            for i in range(due):
                rep = REPS[(sent + i) % len(REPS)]
                publisher.publish(e.call(rep, now) if (sent + i) % 3 else e.visit(rep, now))
            sent += due
            time.sleep(0.01)
    print(json.dumps({"load_events": sent, "load_seconds": time.perf_counter() - began}))


# -- one variant ----------------------------------------------------------------------------
def measure(within_ms: int, args: argparse.Namespace, stamp: str, work: Path) -> dict[str, Any]:
    env = variant_env(within_ms, stamp)
    s = Settings.from_env(env)
    background = bl.background_busy()  # what else the machine is doing: the figures' context
    ensure_topics(s)
    e = Events(first_id=uuid.uuid4().int >> 64)
    with EventPublisher(s, source="bench-latency") as publisher:
        publisher.publish_many([e.unit("co", "company", None), e.unit("t1", "team", "co")])
        publisher.publish_many(e.join(rep, "t1") for rep in REPS)
    port = free_port()
    worker = start(["-m", "salespulse.cli", "worker"], env, work / f"worker-{within_ms}.log")
    api = start(
        ["-m", "salespulse.cli", "api", "--port", str(port)], env, work / f"api-{within_ms}.log"
    )
    url = f"http://127.0.0.1:{port}"
    load: subprocess.Popen[bytes] | None = None
    client = StreamClient(f"{url}/api/stream")
    try:
        wait_applied(s)
        wait_http(f"{url}/api/org", api)
        client.start()
        if not client.connected.wait(30):
            raise SystemExit("bench_latency: the stream did not open")
        seconds = args.wins / args.win_rate + 10
        load_args = [__file__, "--load", str(args.load_rate), "--seconds", str(seconds)]
        load = subprocess.Popen([sys.executable, *load_args], env=env, stdout=subprocess.PIPE)
        time.sleep(3)  # the load reaches its rate before the first win
        sent: dict[str, tuple[float, float]] = {}
        busy_before = bl.system_busy()
        cpu_before = {p.pid: bl.cpu_seconds(p.pid) for p in (worker, api)}
        wall_before = time.perf_counter()
        with EventPublisher(s, source="bench-wins") as publisher:
            began = time.perf_counter()
            for i in range(args.wins):
                pause = began + i / args.win_rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                win = e.won(REPS[i % len(REPS)], datetime.now(UTC), f"o-{i}", f"{1000 + i}.50")
                sent[str(win.event_id)] = (time.perf_counter(), time.time())
                publisher.publish(win)
        deadline = time.monotonic() + DRAIN_S
        while len({a[0] for a in client.arrivals} & sent.keys()) < len(sent):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        busy = bl.busy_cores(busy_before, bl.system_busy())
        wall = time.perf_counter() - wall_before
        # Near 1.0: that process is the bottleneck; far below with high latency: it waits
        # (for the batch window, or for a CPU the rest of the machine holds).
        cores = {n: (bl.cpu_seconds(p.pid) - cpu_before[p.pid]) / wall
                 for n, p in (("worker", worker), ("api", api))}  # fmt: skip
        load_out, _ = load.communicate(timeout=seconds + 60)
        created = recorded_at(s)
    finally:
        client.stop()
        for proc in (load, api, worker):
            if proc is not None:
                stop(proc)
    result = summarise(within_ms, sent, client.arrivals, created, json.loads(load_out))
    return result | {
        "busy_cores": busy,
        "background_busy_cores": background,
        "worker_cores": cores["worker"],
        "api_cores": cores["api"],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def recorded_at(s: Settings) -> dict[str, float]:
    """broadcast_id -> created_at (now() of the worker's batch transaction, its start)."""
    with psycopg.connect(s.database_url) as conn:
        rows = conn.execute(
            f'SELECT broadcast_id, created_at FROM "{s.schema_prefix}".broadcasts '
            "WHERE kind = 'deal_won'"
        ).fetchall()
    return {r[0]: r[1].timestamp() for r in rows}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summarise(
    within_ms: int,
    sent: dict[str, tuple[float, float]],
    arrivals: list[tuple[str, float, float]],
    created: dict[str, float],
    load: dict[str, float],
) -> dict[str, Any]:
    first: dict[str, tuple[float, float]] = {}
    dupes = 0
    for bid, perf, wall in arrivals:
        if bid in sent:
            dupes += bid in first
            first.setdefault(bid, (perf, wall))
    ms = [1000 * (first[b][0] - sent[b][0]) for b in first]
    to_tx = [1000 * (created[b] - sent[b][1]) for b in first if b in created]
    tx_to_frame = [1000 * (first[b][1] - created[b]) for b in first if b in created]
    return {
        "batch_within_ms": within_ms,
        "sent": len(sent),
        "received": len(first),
        "duplicates": dupes,
        "missing": len(sent) - len(first),
        "p50_ms": pct(ms, 0.50),
        "p95_ms": pct(ms, 0.95),
        "p99_ms": pct(ms, 0.99),
        "max_ms": max(ms, default=float("nan")),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
        "send_to_batch_tx_p50_ms": pct(to_tx, 0.5),
        "send_to_batch_tx_p99_ms": pct(to_tx, 0.99),
        "batch_tx_to_frame_p50_ms": pct(tx_to_frame, 0.5),
        "batch_tx_to_frame_p99_ms": pct(tx_to_frame, 0.99),
        "load_events_per_s": load["load_events"] / load["load_seconds"],
    }


def report(results: list[dict[str, Any]]) -> str:
    table = bl.Table(
        ["batch window ms", "wins sent", "received", "dupes", "p50 ms", "p95 ms", "p99 ms",
         "max ms", "send→batch tx p50/p99", "batch tx→frame p50/p99", "load ev/s",
         "busy cores (before)", "worker / API cores"]
    )  # fmt: skip
    for r in results:
        table.add(
            r["batch_within_ms"], r["sent"], r["received"], r["duplicates"], r["p50_ms"],
            r["p95_ms"], r["p99_ms"], r["max_ms"],
            f"{r['send_to_batch_tx_p50_ms']:.0f} / {r['send_to_batch_tx_p99_ms']:.0f}",
            f"{r['batch_tx_to_frame_p50_ms']:.0f} / {r['batch_tx_to_frame_p99_ms']:.0f}",
            r["load_events_per_s"],
            f"{r['busy_cores']:.1f} ({r['background_busy_cores']:.1f})",
            f"{r['worker_cores']:.2f} / {r['api_cores']:.2f}",
        )  # fmt: skip
    return table.markdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, default=1000)
    parser.add_argument("--win-rate", type=float, default=20.0)
    parser.add_argument("--load-rate", type=float, default=1000.0)
    parser.add_argument("--within-ms", default="100,20", help="batch windows to measure")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep topics and schemas")
    parser.add_argument("--load", type=float, help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        run_load(args.load, args.seconds)
        return
    if not (os.environ.get("KAFKA_BOOTSTRAP") and os.environ.get("DATABASE_URL")):
        # As bench/run.sh does: the local stack, idempotently, left running afterwards.
        stack_up = [str(bl.VENV_BIN / "salespulse"), "stack", "up"]
        subprocess.run(stack_up, check=True, stdout=subprocess.DEVNULL)
    stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        for within in (int(w) for w in args.within_ms.split(",")):
            try:
                print(f"latency: batch window {within} ms, {args.wins} wins ...", flush=True)
                results.append(measure(within, args, stamp, Path(tmp)))
            finally:
                if not args.keep:
                    cleanup(variant_env(within, stamp))
    print(report(results))
    bl.write_json(args.out, {"wins": args.wins, "win_rate": args.win_rate, "variants": results})


def cleanup(env: dict[str, str]) -> None:
    s = Settings.from_env(env)
    prefix = s.events_topic.rsplit(".", 1)[0] + "."
    bl.delete_topics_and_groups(s.kafka_bootstrap, [prefix, s.worker_group])
    bl.drop_schemas(s.database_url, s.schema_prefix)


if __name__ == "__main__":
    main()
