"""Pipeline throughput: the log into PostgreSQL by `salespulse worker` (projections, acc. 5).

Over the events bench_publish.py put on the run's topic, in one run:
  1. the ceiling: bare consume loops from offset 0 with large fetches (kafka-python, and
     aiokafka, faust's client), raw, + schemas.codec.decode_record, + decode (pydantic); and
     faust alone: bench/faust_drain.py, the agent's take_events loop applying nothing (raw,
     + decode_batch, and raw on uvloop);
  2. the pipeline: N `salespulse worker` processes (own consumer group and projection schema
     per N), timed from spawn until the projection's applied offsets reach the log end
     (end to end), and from the first committed batch to idle (steady state); the workers'
     peak RSS (VmHWM sampled from /proc), CPU, their PostgreSQL backends' CPU, and the batches
     they committed (counted from the store's NOTIFY); also 1 worker with a longer
     SALESPULSE_BATCH_WITHIN_MS;
  3. what if: the same decode_batch + apply_batch fed by aiokafka getmany() batches, no faust
     (serial, and overlapping the next batch's fetch + decode with the current write);
  4. in process: the worker's stages on the same records in batches of SALESPULSE_BATCH_MAX:
     decode_record, decode_batch (pydantic), plan_batch (the fold), apply_batch (fold +
     PostgreSQL), and apply_batch in the worker's observed batch size;
  5. with --profile, one worker under cProfile (bench/profiled_worker.py): where its time goes.
Every variant has its own consumer group and projection schemas; bench/cleanup.py drops them.
Usage: .venv/bin/python bench/bench_pipeline.py [--workers 1,2] [--within-ms 1000] [--profile]
       [--skip-ceiling] [--skip-what-if] [--skip-stages] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import benchlib as bl
import psycopg
from psycopg import sql

from infra.settings import Settings

FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 8 * 1024 * 1024  # what the worker asks for (consumer_max_fetch_size)
POLL_S = 0.1
PG_PORT_DEFAULT = 5432


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument(
        "--within-ms",
        type=int,
        default=0,
        help="also run 1 worker with this SALESPULSE_BATCH_WITHIN_MS, e.g. 1000 (0: none)",
    )
    parser.add_argument("--profile", action="store_true", help="also run one profiled worker")
    parser.add_argument(
        "--profile-seconds", type=float, default=90.0, help="stop the profiled worker after this"
    )
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--skip-what-if", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per worker run, seconds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    s = bl.settings()
    end = bl.end_offsets(s)
    total = sum(end.values())
    if not total:
        raise SystemExit(f"bench: {s.events_topic} is empty; run bench_publish.py first")
    print(f"pipeline bench over {total:,} records on {s.events_topic} ({len(end)} partitions)")
    results = (args.out.parent if args.out else bl.ROOT / "bench" / "results").resolve()
    work = results / "work"  # the workers' working directories, removed by run.sh
    result: dict[str, Any] = {
        "topic": s.events_topic,
        "records": total,
        "partitions": len(end),
        "batch_max": s.batch_max,
        "batch_within_ms": s.batch_within_ms,
        "background_busy_cores": bl.background_busy(),
        "commit_at_start": bl.git_commit(),
    }
    print(f"background load before the run: {result['background_busy_cores']:.2f} busy cores")
    if not args.skip_ceiling:
        result["ceiling"] = ceiling(s, end)
        # faust's own per-event path, for comparison with the batch engine (the worker's
        # default); its decode and uvloop variants: bench/README.md, earlier runs.
        for decode, uvloop in ((False, False),):
            result["ceiling"].append(faust_drain(s, end, decode, uvloop, work, args.timeout))
    result["pipeline"] = []
    for n in (int(x) for x in args.workers.split(",") if x.strip()):
        result["pipeline"].append(run_workers(s, end, n, f"w{n}", work, args.timeout))
    if args.within_ms:
        extra = {"SALESPULSE_BATCH_WITHIN_MS": str(args.within_ms)}
        run = run_workers(s, end, 1, f"w1within{args.within_ms}", work, args.timeout, extra)
        result["pipeline"].append(run)
    if not args.skip_what_if:
        result["what_if"] = [batch_consumer(s, end, overlap) for overlap in (False, True)]
    if not args.skip_stages:
        mean_batch = result["pipeline"][0]["batches"]["mean_applied"] if result["pipeline"] else 0
        result["stages"] = stages(s, end, small_batch=max(1, round(mean_batch or 500)))
    if args.profile:
        prefix = results / "profile" / "worker"
        prefix.parent.mkdir(parents=True, exist_ok=True)
        run = run_workers(
            s, end, 1, "pf", work, args.timeout, profile=prefix, max_seconds=args.profile_seconds
        )
        run["profile"] = summarise_profile(prefix)
        result["profiled"] = run
    result["commit_at_end"] = bl.git_commit()
    bl.write_json(args.out, result)
    print(report(result), flush=True)


# -- 1. the ceiling -------------------------------------------------------------------------------
def ceiling(s: Settings, end: dict[int, int]) -> list[dict[str, Any]]:
    from schemas.codec import decode, decode_record
    from schemas.trusted import decode_trusted

    def nothing(value: bytes) -> None:
        return None

    variants: list[tuple[str, str, Callable[[bytes], Any]]] = [
        ("kafka-python", "raw", nothing),
        ("kafka-python", "decode_record", decode_record),
        ("kafka-python", "decode", decode),
        ("aiokafka", "raw", nothing),
        ("aiokafka", "decode_record", decode_record),
        ("aiokafka", "decode", decode),
        ("aiokafka", "decode_trusted", decode_trusted),  # what the worker and replay now do
    ]
    out = []
    for client, what, fn in variants:
        consume = consume_kafka_python if client == "kafka-python" else consume_aiokafka
        # Under the worker's own regime: the cyclic collector off while decoding (it costs
        # more than the decoding on a large heap; the batch engine pauses it the same way).
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            seconds = consume(s, end, fn)
        finally:
            gc.enable()
            gc.unfreeze()
        total = sum(end.values())
        row = {"client": client, "decode": what, "seconds": seconds}
        row["rate"] = bl.rate(total, seconds)
        print(f"ceiling: {client:<12} + {what:<13} {row['rate']:>10,.0f} events/s", flush=True)
        out.append(row)
    return out


def _from_the_start(s: Settings, end: dict[int, int]) -> Any:
    """A kafka-python consumer assigned every partition of the topic, at offset 0."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap,
        client_id="salespulse-bench",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_MAX_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        # kafka-python checks CRCs in pure Python unless the crc32c package is installed;
        # aiokafka (the worker's client) checks them in C. Off, so as not to time that.
        check_crcs=False,
    )
    consumer.assign([TopicPartition(s.events_topic, p) for p in end])
    consumer.seek_to_beginning()
    return consumer


def consume_kafka_python(s: Settings, end: dict[int, int], handle: Callable[[bytes], Any]) -> float:
    """Seconds to read every record from offset 0 and hand each value to `handle`."""
    t0 = time.perf_counter()
    consumer = _from_the_start(s, end)
    try:
        left = sum(end.values())
        while left > 0:
            for records in consumer.poll(timeout_ms=1000, max_records=100_000).values():
                for record in records:
                    handle(record.value)
                left -= len(records)
    finally:
        consumer.close()
    return time.perf_counter() - t0


def consume_aiokafka(s: Settings, end: dict[int, int], handle: Callable[[bytes], Any]) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> float:
        t0 = time.perf_counter()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id="salespulse-bench",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(s.events_topic, p) for p in end])
            await consumer.seek_to_beginning()
            left = sum(end.values())
            while left > 0:
                polled = await consumer.getmany(timeout_ms=1000, max_records=100_000)
                for records in polled.values():
                    for record in records:
                        handle(record.value)  # type: ignore[arg-type]
                    left -= len(records)
        finally:
            await consumer.stop()
        return time.perf_counter() - t0

    return asyncio.run(run())


def faust_drain(
    s: Settings, end: dict[int, int], decode: bool, uvloop: bool, work: Path, timeout: float
) -> dict[str, Any]:
    """faust alone: bench/faust_drain.py runs the agent's take_events loop, applying nothing."""
    total = sum(end.values())
    tag = f"fd{int(decode)}{int(uvloop)}"
    env = {
        **bl.variant_env(s, tag),
        "BENCH_DRAIN_TOTAL": str(total),
        "BENCH_DRAIN_DECODE": "1" if decode else "0",
        "BENCH_DRAIN_UVLOOP": "1" if uvloop else "0",
    }
    cwd = work / tag
    cwd.mkdir(parents=True, exist_ok=True)
    log_path = cwd / "drain.log"
    argv = [sys.executable, str(bl.ROOT / "bench" / "faust_drain.py")]
    with log_path.open("wb") as log:
        spawned = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        exited = bl.wait4(proc, started, timeout=timeout)
    # faust's worker sends print() through logging: the marks may follow a log prefix.
    found = re.findall(r"\b(FIRST|DONE) ([\d.]+) ?(\d*)", log_path.read_text())
    marks = {m[0]: m[1:] for m in found}
    if "DONE" not in marks:
        tail = log_path.read_text()[-2000:]
        raise SystemExit(f"bench: faust_drain did not finish (exit {exited.status})\n{tail}")
    first, done = float(marks["FIRST"][0]) - spawned, float(marks["DONE"][0]) - spawned
    seen = int(marks["DONE"][1])
    row = {
        "client": "faust take_events" + (" on uvloop" if uvloop else ""),
        "decode": "decode_batch" if decode else "raw",
        "seconds": done,
        "rate": bl.rate(seen, done),
        "rate_steady": bl.rate(seen, done - first),
        "cpu_s": exited.cpu_s,
        "maxrss_mib": exited.maxrss_kb / 1024,
    }
    print(
        f"ceiling: faust take_events + {row['decode']}: {row['rate']:,.0f} events/s from "
        f"spawn, {row['rate_steady']:,.0f} from the first batch",
        flush=True,
    )
    return row


# -- 2. the real workers ------------------------------------------------------------------------
def run_workers(
    s: Settings,
    end: dict[int, int],
    n: int,
    tag: str,
    work: Path,
    timeout: float,
    extra_env: dict[str, str] | None = None,
    profile: Path | None = None,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Run n workers from a fresh group and schema until idle (or max_seconds); measure."""
    from projections.postgres.registry import notify_channel

    env = {**bl.variant_env(s, tag), **(extra_env or {})}
    schema = f"{env['SALESPULSE_SCHEMA_PREFIX']}_v1"
    total = sum(end.values())
    cwd = work / tag  # faust writes <app id>-data/ into its working directory
    cwd.mkdir(parents=True, exist_ok=True)
    if profile:
        env["SALESPULSE_BENCH_PROFILE"] = str(profile)
        argv = [sys.executable, str(bl.ROOT / "bench" / "profiled_worker.py"), "worker"]
    else:
        argv = [str(bl.VENV_BIN / "salespulse"), "worker"]
    broker = bl.broker_pid()
    broker_cpu0 = bl.cpu_seconds(broker) if broker else 0.0
    busy0 = bl.system_busy()
    logs = [(cwd / f"worker-{i}.log").open("wb") for i in range(n)]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        for log in logs
    ]
    samples: list[tuple[float, int, int]] = []  # (seconds, records applied, RSS MiB of all)
    hwm = [0] * n
    first: tuple[float, int] | None = None
    batches: list[int] = []  # events newly applied per committed batch, from NOTIFY payloads
    capped = False
    try:
        with (
            psycopg.connect(s.database_url, autocommit=True) as conn,
            psycopg.connect(s.database_url, autocommit=True) as listen,
        ):
            listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(schema))))
            while True:
                t = time.perf_counter() - t0
                applied = applied_records(conn, schema, end)
                rss = 0
                for i, p in enumerate(procs):
                    vm = bl.vm_status(p.pid)
                    hwm[i] = max(hwm[i], vm.get("VmHWM", 0))
                    rss += vm.get("VmRSS", 0)
                samples.append((round(t, 3), applied, rss // 1024))
                if applied and first is None:
                    first = (t, applied)
                if applied >= total:
                    break
                if max_seconds and first and t > max_seconds:
                    capped = True
                    break
                dead = [p.pid for p in procs if not bl.alive(p.pid)]
                if dead or t > timeout:
                    tail = "\n".join(
                        (cwd / f"worker-{i}.log").read_text()[-2000:] for i in range(n)
                    )
                    raise SystemExit(f"bench: workers {dead or 'timed out'}; lag left\n{tail}")
                batches += [
                    json.loads(note.payload)["applied"] for note in listen.notifies(timeout=POLL_S)
                ]
            idle = t
            done = applied
            notes = listen.notifies(timeout=0.5)
            batches += [json.loads(note.payload)["applied"] for note in notes]
            busy = bl.busy_cores(busy0, bl.system_busy())
            worker_cpu = [bl.cpu_seconds(p.pid) for p in procs]
            pg_cpu = backend_cpu(conn, [p.pid for p in procs], s.database_url)
            broker_cpu = (bl.cpu_seconds(broker) - broker_cpu0) if broker else None
            final = [bl.vm_status(p.pid) for p in procs]
            distinct = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.applied_events").format(sql.Identifier(schema))
            ).fetchone()
    finally:
        exits = stop(procs)
        for log in logs:
            log.close()
    assert first is not None
    hwm = [max(h, f.get("VmHWM", 0)) for h, f in zip(hwm, final, strict=True)]
    steady_s = idle - first[0]
    out = {
        "workers": n,
        "tag": tag,
        "env": extra_env or {},
        "schema": schema,
        "records": done,
        "capped_at_s": max_seconds if capped else None,
        "profiled": profile is not None,
        "applied_event_ids": distinct[0] if distinct else None,
        "end_to_end_s": idle,
        "rate_end_to_end": bl.rate(done, idle),
        "first_batch_s": first[0],
        "first_batch_records": first[1],
        "steady_s": steady_s,
        "rate_steady": bl.rate(done - first[1], steady_s),
        "rate_10_90": None if capped else middle_rate(samples, total),
        "batches": {
            "count": len(batches),
            "mean_applied": sum(batches) / len(batches) if batches else None,
            "max_applied": max(batches, default=None),
        },
        "peak_rss_mib": [h / 1024 for h in hwm],
        "peak_rss_after_exit_mib": [e.maxrss_kb / 1024 for e in exits],
        "worker_cpu_s": worker_cpu,
        "pg_backend_cpu_s": pg_cpu,
        "broker_cpu_s": broker_cpu,
        "busy_cores": busy,
        "exit_status": [e.status for e in exits],
        "stop_s": [e.wall_s for e in exits],
        "samples": samples[:: max(1, len(samples) // 200)],  # (s, records applied, RSS MiB)
        "rss_mib_at": {f"{q}%": rss_at(samples, q / 100 * total) for q in (10, 50, 100)},
    }
    print(
        f"pipeline: {label(out)}: {out['rate_end_to_end']:,.0f} events/s end to end "
        f"({idle:.1f}s), {out['rate_steady']:,.0f} steady, first batch at {first[0]:.1f}s, "
        f"{len(batches)} batches (mean {out['batches']['mean_applied'] or 0:,.0f} events), "
        f"peak RSS {', '.join(f'{m:.0f}' for m in out['peak_rss_mib'])} MiB",
        flush=True,
    )
    return out


def applied_records(conn: psycopg.Connection[Any], schema: str, end: dict[int, int]) -> int:
    """Records of the log the projection has applied (its offsets + 1, capped at the end)."""
    exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".applied_offsets',)).fetchone()
    if not exists or exists[0] is None:
        return 0
    rows = conn.execute(
        sql.SQL('SELECT partition, "offset" FROM {}.applied_offsets').format(sql.Identifier(schema))
    ).fetchall()
    offsets = dict(rows)
    return sum(min(offsets.get(p, -1) + 1, e) for p, e in end.items())


def backend_cpu(conn: psycopg.Connection[Any], pids: list[int], url: str) -> float | None:
    """CPU seconds of the PostgreSQL backends serving the workers' connections."""
    port = conn.info.port or PG_PORT_DEFAULT
    ports = set().union(*(bl.socket_ports(pid, port) for pid in pids))
    if not ports:
        return None
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (sorted(ports),)
    ).fetchall()
    return sum(bl.cpu_seconds(r[0]) for r in rows)


def stop(procs: list[subprocess.Popen[bytes]]) -> list[bl.Exited]:
    started = time.perf_counter()
    for p in procs:
        if bl.alive(p.pid):
            p.send_signal(signal.SIGTERM)
    return [bl.wait4(p, started, timeout=60) for p in procs]


def middle_rate(samples: list[tuple[float, int, int]], total: int) -> float:
    """Events/s between 10 % and 90 % of the log applied (no start-up, no tail)."""

    def when(fraction: float) -> float:
        goal = fraction * total
        for (t0, n0, _), (t1, n1, _) in itertools.pairwise(samples):
            if n1 >= goal:
                return t0 + (t1 - t0) * ((goal - n0) / (n1 - n0) if n1 > n0 else 1.0)
        return samples[-1][0]

    return bl.rate(0.8 * total, when(0.9) - when(0.1))


def rss_at(samples: list[tuple[float, int, int]], applied: float) -> int | None:
    """The workers' total RSS (MiB) when `applied` records had been applied."""
    return next((rss for _, n, rss in samples if n >= applied), None)


def label(p: dict[str, Any]) -> str:
    name = f"{p['workers']} worker" + ("s" if p["workers"] > 1 else "")
    if p.get("env"):
        name += " " + " ".join(f"{k}={v}" for k, v in p["env"].items())
    if p.get("profiled"):
        name += " under cProfile"
    if p.get("capped_at_s"):
        name += f" (first {p['capped_at_s']:.0f}s)"
    return name


# -- 3. what if: the same decode + apply, fed by aiokafka batches instead of faust -------------
def batch_consumer(s: Settings, end: dict[int, int], overlap: bool) -> dict[str, Any]:
    """aiokafka getmany(batch_max) -> decode_batch -> apply_batch in a thread, no faust.

    A sketch of a batch driver for the live projection (offsets come from PostgreSQL, so the
    consumer needs no Kafka commits); with `overlap`, batch N+1 is fetched and decoded while
    batch N is written. Times from consumer creation until the last batch is committed.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from salespulse.runtime import open_store
    from streams.batching import RawRecord, decode_batch

    tag = "wo" if overlap else "ws"
    store = open_store(Settings.from_env(bl.variant_env(s, tag)))
    total = sum(end.values())

    async def run() -> tuple[float, float]:
        t0 = time.perf_counter()
        first = 0.0
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id="salespulse-bench",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        )
        await consumer.start()
        pending: asyncio.Future[Any] | None = None
        try:
            consumer.assign([TopicPartition(s.events_topic, p) for p in end])
            await consumer.seek_to_beginning()
            left = total
            while left > 0:
                polled = await consumer.getmany(timeout_ms=100, max_records=s.batch_max)
                raws = [
                    RawRecord(tp.topic, tp.partition, r.offset, r.key, r.value)
                    for tp, records in polled.items()
                    for r in records
                ]
                if not raws:
                    continue
                batch = decode_batch(raws)
                if pending is not None:
                    await pending
                    first = first or time.perf_counter() - t0
                pending = asyncio.ensure_future(asyncio.to_thread(store.apply_batch, batch.records))
                if not overlap:
                    await pending
                    first = first or time.perf_counter() - t0
                    pending = None
                left -= len(raws)
            if pending is not None:
                await pending
        finally:
            await consumer.stop()
        return time.perf_counter() - t0, first

    try:
        seconds, first = asyncio.run(run())
    finally:
        store.close()
    row = {
        "driver": "aiokafka getmany + decode_batch + apply_batch"
        + (" (overlapped)" if overlap else " (serial)"),
        "seconds": seconds,
        "rate": bl.rate(total, seconds),
        "rate_steady": bl.rate(total, seconds - first),
    }
    print(f"what if: {row['driver']}: {row['rate']:,.0f} events/s", flush=True)
    return row


# -- 4. the worker's stages in process -----------------------------------------------------
STAGE_LIMIT = 200_000  # records of the small-batch comparison
HOOK_LIMIT = 50_000  # records of the comparison with the live worker's announcements hook


def stages(s: Settings, end: dict[int, int], small_batch: int) -> dict[str, Any]:
    """Time decode_record / decode_batch / plan_batch / apply_batch on the worker's batches.

    Pass 1: every record, in batches of SALESPULSE_BATCH_MAX, plain apply_batch into a fresh
    schema (what a replay does). Interleaved with it, batch by batch so that both sides see the
    same load on the machine: the first STAGE_LIMIT records also go to a second schema with
    the simulator's resubmitted event_ids dropped first (the store's cost without its
    optimistic rollback + redo), and the first HOOK_LIMIT records to a third with the live
    worker's in-transaction announcements hook. Pass 2: the first STAGE_LIMIT records in
    batches of `small_batch` (the real worker's mean batch): the fixed cost per batch.
    """
    p1 = _stage_pass_1(s, end)
    n = p1["records"]
    out: dict[str, Any] = {"records": n, "batch": s.batch_max}
    for name in ("decode_record", "decode_batch", "fold", "apply_batch"):
        out[name] = _per_event(p1[name], n)
    out["postgres"] = _per_event(p1["apply_batch"] - p1["fold"], n)
    out["decode_batch+apply_batch"] = _per_event(p1["decode_batch"] + p1["apply_batch"], n)
    small_s, small_n = _stage_pass_small(s, end, small_batch)
    big_n = p1["limit_records"]
    out["batch_size_effect"] = {
        "records": small_n,
        "big_batch": s.batch_max,
        "small_batch": small_batch,
        "apply_big": _per_event(p1["limit_apply"], big_n),
        "apply_small": _per_event(small_s, small_n),
        "fixed_ms_per_batch": (small_s / small_n - p1["limit_apply"] / big_n)
        / (1 / small_batch - 1 / s.batch_max)
        * 1000,
    }
    out["no_resubmissions"] = {
        "records": big_n,
        "apply_plain": _per_event(p1["limit_apply"], big_n),
        "apply_without_resubmitted": _per_event(p1["fresh_apply"], big_n),
        "inserts_per_applied_event_plain": p1.get("inserts_st"),
        "inserts_per_applied_event": p1.get("inserts_sf"),
    }
    out["announcements_hook"] = {
        "records": p1["hook_records"],
        "apply_plain": _per_event(p1["hook_plain_apply"], p1["hook_records"]),
        "apply_with_hook": _per_event(p1["hook_apply"], p1["hook_records"]),
    }
    h, f = out["announcements_hook"], out["no_resubmissions"]
    print(
        f"stages: decode_batch + apply_batch in process: "
        f"{out['decode_batch+apply_batch']['rate']:,.0f} events/s; apply_batch per event: "
        f"{f['apply_plain']['us_per_event']:.1f} µs as is, "
        f"{f['apply_without_resubmitted']['us_per_event']:.1f} without resubmissions, "
        f"{h['apply_with_hook']['us_per_event']:.1f} with the announcements hook (plain "
        f"{h['apply_plain']['us_per_event']:.1f}), "
        f"{out['batch_size_effect']['apply_small']['us_per_event']:.1f} in batches of "
        f"{small_batch}",
        flush=True,
    )
    return out


def _per_event(seconds: float, n: int) -> dict[str, float]:
    return {"seconds": seconds, "us_per_event": seconds / n * 1e6, "rate": bl.rate(n, seconds)}


def _inserts_per_row(store: Any) -> float | None:
    """applied_events rows inserted per row kept: 2.0 when every batch was written twice."""
    row = store.conn.execute(
        "SELECT n_tup_ins, n_live_tup FROM pg_stat_user_tables "
        "WHERE schemaname = %s AND relname = 'applied_events'",
        (store.schema,),
    ).fetchone()
    return row[0] / row[1] if row and row[1] else None


def _stage_pass_1(s: Settings, end: dict[int, int]) -> dict[str, Any]:
    from projections.model.batch import plan_batch
    from salespulse.runtime import open_store
    from schemas.codec import decode_record
    from streams.announcer import Announcer
    from streams.batching import RawRecord, decode_batch

    def store_for(tag: str) -> Any:
        return open_store(Settings.from_env(bl.variant_env(s, tag)))

    plain, fresh, hooked = store_for("st"), store_for("sf"), store_for("sh")
    hs = Settings.from_env(bl.variant_env(s, "sh"))
    announcer = Announcer(
        hs.database_url, hs.schema_prefix, hs.zone, timedelta(hours=hs.live_cutoff_hours)
    )
    within = announcer.hook(hooked.schema, hooked.ctx.kpis)
    out: dict[str, Any] = dict.fromkeys(
        ("decode_record", "decode_batch", "fold", "apply_batch", "limit_apply", "fresh_apply",
         "hook_plain_apply", "hook_apply"),
        0.0,
    )  # fmt: skip
    out.update(records=0, limit_records=0, hook_records=0)
    seen: set[Any] = set()

    def timed(fn: Callable[..., Any], *args: Any) -> float:
        t0 = time.perf_counter()
        fn(*args)
        return time.perf_counter() - t0

    def decode_records(raws: list[Any]) -> None:
        for r in raws:
            decode_record(r.value)

    try:
        for batch in raw_batches(s, end, s.batch_max):
            raws = [RawRecord(s.events_topic, p, o, k, v) for p, o, k, v in batch]
            gc.disable()  # as the batch engine decodes, and apply_batch folds
            out["decode_record"] += timed(decode_records, raws)
            t0 = time.perf_counter()
            records = decode_batch(raws).records
            out["decode_batch"] += time.perf_counter() - t0
            out["fold"] += timed(plan_batch, records, {}, plain.ctx)
            gc.enable()
            seconds = timed(plain.apply_batch, records)
            out["apply_batch"] += seconds
            n = len(raws)
            if out["limit_records"] < STAGE_LIMIT:
                dropped = [
                    (p, o, None if e is None or e.event_id in seen else e) for p, o, e in records
                ]
                seen.update(e.event_id for _, _, e in dropped if e is not None)
                out["limit_apply"] += seconds
                out["fresh_apply"] += timed(fresh.apply_batch, dropped)
                out["limit_records"] += n
            if out["hook_records"] < HOOK_LIMIT:
                out["hook_plain_apply"] += seconds
                out["hook_apply"] += timed(hooked.apply_batch, records, within)
                out["hook_records"] += n
            out["records"] += n
        out["inserts_st"] = _inserts_per_row(plain)
        out["inserts_sf"] = _inserts_per_row(fresh)
    finally:
        for store in (plain, fresh, hooked):
            store.close()
        announcer.close()
    return out


def _stage_pass_small(s: Settings, end: dict[int, int], size: int) -> tuple[float, int]:
    """Seconds of apply_batch over the first STAGE_LIMIT records in batches of `size`."""
    from salespulse.runtime import open_store
    from streams.batching import RawRecord, decode_batch

    store = open_store(Settings.from_env(bl.variant_env(s, "sb")))
    seconds, n = 0.0, 0
    try:
        for batch in raw_batches(s, end, size):
            records = decode_batch(
                RawRecord(s.events_topic, p, o, k, v) for p, o, k, v in batch
            ).records
            t0 = time.perf_counter()
            store.apply_batch(records)
            seconds += time.perf_counter() - t0
            n += len(records)
            if n >= STAGE_LIMIT:
                break
    finally:
        store.close()
    return seconds, n


def raw_batches(
    s: Settings, end: dict[int, int], size: int
) -> Iterator[list[tuple[int, int, bytes | None, bytes | None]]]:
    """The log as (partition, offset, key, value) batches, in the order a consumer gets them."""
    consumer = _from_the_start(s, end)
    try:
        left = sum(end.values())
        pending: list[tuple[int, int, bytes | None, bytes | None]] = []
        while left > 0:
            for records in consumer.poll(timeout_ms=1000, max_records=size).values():
                pending += [(r.partition, r.offset, r.key, r.value) for r in records]
                left -= len(records)
            while len(pending) >= size or (pending and left <= 0):
                yield pending[:size]
                pending = pending[size:]
    finally:
        consumer.close()


# -- 5. profile ---------------------------------------------------------------------------
def summarise_profile(prefix: Path) -> dict[str, Any]:
    """Where the profiled worker's time went, by thread and by component."""
    from profile_summary import summarise

    return summarise(prefix)


# -- report ------------------------------------------------------------------------------
def best_ceiling(r: dict[str, Any], kind: str) -> float:
    """The fastest bare client loop (not faust) with that decoding."""
    rows = [c for c in r.get("ceiling", []) if c["decode"] == kind and "faust" not in c["client"]]
    return max((c["rate"] for c in rows), default=0.0)


def report(r: dict[str, Any]) -> str:
    lines = []
    if "ceiling" in r:
        t = bl.Table(["ceiling: bare consume loop from offset 0", "events/s"])
        for c in r["ceiling"]:
            name = f"{c['client']} + {c['decode']}"
            if "rate_steady" in c:
                name += f" (from the first batch: {c['rate_steady']:,.0f})"
            t.add(name, c["rate"])
        lines += [t.markdown(), ""]
    t = bl.Table(
        [
            "pipeline",
            "end to end events/s",
            "steady events/s",
            "10-90 % events/s",
            "first batch s",
            "total s",
            "batches (mean events)",
            "peak RSS MiB",
            "worker CPU s",
            "PG backend CPU s",
            "busy cores",
        ]
    )
    for p in r["pipeline"] + ([r["profiled"]] if "profiled" in r else []):
        b = p["batches"]
        t.add(
            label(p),
            p["rate_end_to_end"],
            p["rate_steady"],
            p["rate_10_90"] or "-",
            p["first_batch_s"],
            p["end_to_end_s"],
            f"{b['count']:,} ({b['mean_applied'] or 0:,.0f})",
            " / ".join(f"{m:.0f}" for m in p["peak_rss_mib"]),
            sum(p["worker_cpu_s"]),
            p["pg_backend_cpu_s"] or 0.0,
            p["busy_cores"],
        )
    lines.append(t.markdown())
    for p in r["pipeline"]:
        if p.get("rss_mib_at"):
            at = ", ".join(f"{k} {v} MiB" for k, v in p["rss_mib_at"].items())
            lines.append(f"\nRSS of {label(p)} (all workers) by share of the log applied: {at}")
    lines.append(f"\nbackground load before the run: {r['background_busy_cores']:.2f} busy cores")
    if r["pipeline"] and "ceiling" in r:
        one = r["pipeline"][0]
        for kind in ("decode_record", "decode", "decode_trusted"):
            best = best_ceiling(r, kind)
            lines.append(
                f"1 worker / ceiling (consume + {kind}, {best:,.0f} events/s): end to end "
                f"{one['rate_end_to_end'] / best:.2f}, steady {one['rate_steady'] / best:.2f}"
            )
    if "what_if" in r:
        t = bl.Table(["what if: no faust, same decode + apply (in process)", "events/s"])
        for w in r["what_if"]:
            t.add(w["driver"], w["rate"])
        lines += ["", t.markdown()]
    if "stages" in r:
        st = r["stages"]
        t = bl.Table(
            [f"stage, in process, no faust (batches of {st['batch']})", "µs/event", "events/s"]
        )
        for name in (
            "decode_record",
            "decode_batch",
            "fold",
            "postgres",
            "apply_batch",
            "decode_batch+apply_batch",
        ):
            t.add(name, st[name]["us_per_event"], st[name]["rate"])
        e = st["batch_size_effect"]
        lines += [
            "",
            t.markdown(),
            f"\napply_batch on the first {e['records']:,} records: "
            f"{e['apply_big']['us_per_event']:.1f} µs/event in batches of {e['big_batch']}, "
            f"{e['apply_small']['us_per_event']:.1f} in batches of {e['small_batch']} "
            f"(the real worker's mean): about {e['fixed_ms_per_batch']:.1f} ms fixed per batch",
        ]
        f = st.get("no_resubmissions")
        if f:
            lines.append(
                f"apply_batch on the first {f['records']:,} records: "
                f"{f['apply_plain']['us_per_event']:.1f} µs/event as is, "
                f"{f['apply_without_resubmitted']['us_per_event']:.1f} with resubmitted "
                f"event_ids dropped before the store (no optimistic rollback + redo); "
                f"applied_events inserts per row: {f['inserts_per_applied_event_plain'] or 0:.2f} "
                f"as is, {f['inserts_per_applied_event'] or 0:.2f} without"
            )
        h = st.get("announcements_hook")
        if h:
            lines.append(
                f"apply_batch on the first {h['records']:,} records: "
                f"{h['apply_plain']['us_per_event']:.1f} µs/event plain (as a replay), "
                f"{h['apply_with_hook']['us_per_event']:.1f} µs/event with the live worker's "
                f"announcements hook ({h['apply_with_hook']['rate']:,.0f} events/s)"
            )
    if "profiled" in r:
        lines += ["", r["profiled"]["profile"]["text"]]
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
