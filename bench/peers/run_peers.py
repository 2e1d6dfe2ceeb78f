"""The peers benchmark: one simplified workload, one topic, one run, every contender checked.

Workload: per rep per org-local day, revenue (sum of OrderSigned amounts, base currency) and
orders (their count), de-duplicated by event_id, in PostgreSQL. Contenders run one after the
other as real processes over the same topic (bench/peers/run.sh publishes the simulated
history without its corrections, which SalesPulse would apply and the workload ignores): the bare
ceilings (Java consumer, aiokafka raw and with the trusted decode), SalesPulse's live worker
(1 process, bench/peers/kpis.toml) and replay (2 processes), Quix Streams with its PostgreSQL
sink and Kafka Streams 3.9 with a JDBC upsert writer. A streaming contender is done when its
table's totals equal the oracle's (or stop changing for STABLE_S); every table is then
compared row by row with the oracle (the workload's definition over the log). Wall time, CPU
seconds of the process tree and peak RSS (sampled) per contender; PostgreSQL's CPU is not in.
Usage: .venv/bin/python bench/peers/run_peers.py --out FILE [--only NAME,...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from bench_replay import tree_rss_kib
from benchlib import ROOT, Table, alive, end_offsets, settings, variant_env, wait4, write_json

from streams.bulk_reader import read_ranges

HERE = Path(__file__).resolve().parent
KPIS = HERE / "kpis.toml"
STABLE_S, EMPTY_S, TIMEOUT_S = 20.0, 120.0, 1800.0  # done when unchanged that long
Rows = dict[tuple[str, str], tuple[Decimal, int]]


def oracle(s: Any) -> Rows:
    """The workload over the log, by its definition: first occurrence of each event id, per
    signing rep and org-local day the OrderSigned amounts (all in the base currency: the
    topic is published without foreign currencies) and their count."""
    seen: set[int] = set()
    out: dict[tuple[str, str], list[Any]] = {}
    for batch in read_ranges(s.kafka_bootstrap, s.events_topic, {}, end_offsets(s), 50_000):
        for _, _, event in batch:
            if event is None or event.event_id.int in seen:
                continue
            seen.add(event.event_id.int)
            if event.type != "OrderSigned":
                continue
            day = event.occurred_at.astimezone(s.zone).date().isoformat()
            cell = out.setdefault((event.rep_id or "", day), [Decimal(0), 0])
            cell[0] += event.data.amount
            cell[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def read_rows(url: str, query: str) -> Rows:
    try:
        with psycopg.connect(url) as conn:
            return {(r, str(d)): (Decimal(v), int(n)) for r, d, v, n in conn.execute(query)}
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return {}


def salespulse_rows(schema: str) -> str:
    # Order metrics are an order's credits (entity_credits, recomputed from all its facts);
    # the per-event metrics are in metric_daily: a read adds the two, as the API's reads do.
    cells = (
        f'SELECT metric, rep_id, day, value FROM "{schema}".metric_daily UNION ALL '
        f'SELECT metric, rep_id, day, value FROM "{schema}".entity_credits'
    )
    return (
        "SELECT rep_id, day, coalesce(sum(value) FILTER (WHERE metric = 'revenue'), 0), "
        f"coalesce(sum(value) FILTER (WHERE metric = 'orders'), 0) FROM ({cells}) c "
        "GROUP BY rep_id, day"
    )


def contenders(s: Any) -> list[dict[str, Any]]:
    java_cp = Path(os.environ.get("PEERS_CLASSPATH", "/tmp/peers-classpath.txt"))
    cp = java_cp.read_text().strip() if java_cp.exists() else ""
    java = ["java", "-cp", cp, str(HERE / "java" / "Peers.java")]
    quix_py = os.environ.get("PEERS_QUIX_PYTHON", "")
    py, url = sys.executable, s.database_url
    cli = [py, "-m", "salespulse.cli"]
    tag = s.schema_prefix
    return [
        {"name": "ceiling: Java consumer", "argv": [*java, "consumer", s.kafka_bootstrap,
         s.events_topic]},
        {"name": "ceiling: aiokafka raw", "argv": [py, str(HERE / "ceiling.py"), "raw"]},
        {"name": "ceiling: aiokafka + trusted decode",
         "argv": [py, str(HERE / "ceiling.py"), "decode"]},
        {"name": "SalesPulse live worker (1 process)", "tag": "worker",
         "argv": [*cli, "worker", "--kpis", str(KPIS)],
         "query": salespulse_rows(f"{tag}_worker_v2"), "streaming": True},
        {"name": "SalesPulse replay (2 processes)", "tag": "replay",
         "argv": [*cli, "replay", "--kpis", str(KPIS), "--processes", "2", "--no-progress"],
         "query": salespulse_rows(f"{tag}_replay_v2")},
        {"name": "Quix Streams 3.28 (PostgreSQL sink)", "skip": not quix_py,
         "argv": [quix_py, str(HERE / "quix_app.py"), s.kafka_bootstrap, s.events_topic,
                  f"{s.events_topic}.quix", url, f"{tag}_quix"],
         "query": f"SELECT rep_id, day, revenue_e4 / 10000.0, orders FROM {tag}_quix",
         "streaming": True},
        {"name": "Kafka Streams 3.9 (JDBC upsert)", "skip": not cp,
         "argv": [*java, "streams", s.kafka_bootstrap, s.events_topic, f"{s.events_topic}.kstreams",
                  "jdbc:" + url.replace("postgresql://salespulse@", "postgresql://")
                  + ("&" if "?" in url else "?") + "user=salespulse", f"{tag}_kstreams"],
         "query": f"SELECT rep_id, day, revenue, orders FROM {tag}_kstreams", "streaming": True},
    ]  # fmt: skip


def totals(rows: Rows) -> tuple[int, Decimal, int]:
    return (
        len(rows),
        sum((v for v, _ in rows.values()), Decimal(0)),
        sum(n for _, n in rows.values()),
    )


def run(s: Any, c: dict[str, Any], expected: Rows) -> dict[str, Any]:
    env = variant_env(s, c["tag"]) if "tag" in c else dict(os.environ)
    read: Callable[[], Rows] = lambda: read_rows(s.database_url, c["query"])  # noqa: E731
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(c["argv"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                text=True, cwd=ROOT)  # fmt: skip
        peak, done_at, last, changed = 0, None, None, started
        while alive(proc.pid):  # not poll(): wait4 below must reap it, for its rusage
            peak = max(peak, tree_rss_kib(proc.pid))
            now = time.perf_counter()
            if c.get("streaming"):
                current = totals(read())
                if current != last:
                    last, changed = current, now
                quiet = now - changed > (STABLE_S if current[0] else EMPTY_S)
                if current == totals(expected) or quiet:
                    done_at = changed
                    break
            if now - started > TIMEOUT_S:
                break
            time.sleep(0.25)
        if alive(proc.pid):
            proc.terminate()
        exited = wait4(proc, started, timeout=60)
        log.seek(0)
        out = log.read()
    wall = (done_at or started + exited.wall_s) - started
    rows = read() if "query" in c else None
    return {
        "name": c["name"], "wall_s": round(wall, 2), "cpu_s": round(exited.cpu_s, 1),
        "peak_rss_mib": peak // 1024, "correct": None if rows is None else rows == expected,
        "exit": exited.status, "output": out[-400:],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", help="comma-separated name prefixes")
    args = parser.parse_args()
    s = settings()
    total = sum(end_offsets(s).values())
    expected = oracle(s)
    print(f"oracle: {len(expected)} rep-days, totals {totals(expected)} over {total} records")
    results = []
    for c in contenders(s):
        if c.get("skip") or (
            args.only and not any(c["name"].startswith(o) for o in args.only.split(","))
        ):
            continue
        r = run(s, c, expected)
        r["events_per_s"] = round(total / r["wall_s"]) if r["wall_s"] else None
        print(f"{r['name']}: {r['events_per_s']:,} events/s, {r['wall_s']} s, CPU {r['cpu_s']} s, "
              f"peak RSS {r['peak_rss_mib']} MiB, correct {r['correct']}", flush=True)  # fmt: skip
        results.append(r)
    t = Table(["contender", "events/s", "wall s", "CPU s", "peak RSS MiB", "correct"])
    for r in results:
        t.add(r["name"], r["events_per_s"], r["wall_s"], r["cpu_s"], r["peak_rss_mib"],
              {True: "yes", False: "NO", None: "n/a (no output)"}[r["correct"]])  # fmt: skip
    print(t.markdown())
    with psycopg.connect(s.database_url, autocommit=True) as conn:  # the peers' own tables
        for peer in ("quix", "kstreams"):
            conn.execute(f"DROP TABLE IF EXISTS {s.schema_prefix}_{peer}")
    write_json(args.out, {"events": total, "results": results, "table": t.markdown()})


if __name__ == "__main__":
    main()
