"""Publish throughput: `salespulse simulate --publish` into a fresh topic (event contract, acc. 6).

Runs the real CLI as subprocesses with the environment bench/run.sh exports (a private topic):
  1. the generator ceiling: `simulate` of the same org to /dev/null, also used to size the
     org (--days) so that it yields about --events events;
  2. `simulate --publish` of that org: wall time from spawn to exit (including the final
     flush), events now on the topic, CPU of the CLI and of the local broker;
  3. in process, on a sample of the same JSON lines, the per-event cost of what --publish adds
     before kafka-python sees the event: json.loads + pydantic parse_event, then encode + key.
Usage: .venv/bin/python bench/bench_publish.py [--events 1000000] [--reps 100] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib as bl

# Events per rep per day of the simulated org (1M events ~ 100 reps x 300 days); only the
# first guess, the generator run measures and --days is corrected from it.
EVENTS_PER_REP_DAY = 33.5
TOLERANCE = 0.015
SAMPLE_EVENTS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    s = bl.settings()
    from infra.topics import ensure_topics

    # Created outside the timed region: the bench times publishing, not topic creation.
    ensure_topics(s)
    if any(bl.end_offsets(s).values()):
        raise SystemExit(f"bench: topic {s.events_topic} is not empty; use a fresh run id")

    days = max(1, math.ceil(args.events / (args.reps * EVENTS_PER_REP_DAY)))
    sizing = []
    for _ in range(4):
        gen = simulate(args.reps, days, args.seed, publish=False)
        sizing.append({"days": days, "events": gen["events"]})
        print(
            f"generator: {args.reps} reps x {days} days -> {gen['events']:,} events "
            f"in {gen['wall_s']:.1f}s wall ({gen['rate_wall']:,.0f}/s)",
            flush=True,
        )
        if abs(gen["events"] - args.events) <= TOLERANCE * args.events:
            break
        days = max(1, round(days * args.events / gen["events"]))

    broker = bl.broker_pid()
    broker_cpu0 = bl.cpu_seconds(broker) if broker else 0.0
    busy0 = bl.system_busy()
    pub = simulate(args.reps, days, args.seed, publish=True)
    pub["busy_cores"] = bl.busy_cores(busy0, bl.system_busy())
    pub["broker_cpu_s"] = (bl.cpu_seconds(broker) - broker_cpu0) if broker else None
    on_topic = sum(bl.end_offsets(s).values())
    pub["on_topic"] = on_topic
    print(
        f"publish:   {pub['events']:,} events in {pub['wall_s']:.1f}s wall "
        f"({pub['rate_wall']:,.0f}/s); {on_topic:,} records on {s.events_topic}",
        flush=True,
    )
    if on_topic != gen["events"] or pub["status"] != 0:
        raise SystemExit(f"bench: published {on_topic} of {gen['events']} (exit {pub['status']})")

    sample = edge_costs(args.reps, args.seed)
    result = {
        "commit": bl.git_commit(),
        "topic": s.events_topic,
        "partitions": s.partitions,
        "reps": args.reps,
        "days": days,
        "seed": args.seed,
        "sizing": sizing,
        "generator": gen,
        "publish": pub,
        "edge_sample": sample,
        "ratio_publish_to_generator": pub["rate_wall"] / gen["rate_wall"],
    }
    bl.write_json(args.out, result)
    print(table(result), flush=True)


def simulate(reps: int, days: int, seed: int, publish: bool) -> dict[str, Any]:
    """Run `salespulse simulate` (to /dev/null, or --publish) and time it from spawn to exit."""
    argv = [
        str(bl.VENV_BIN / "salespulse"),
        "simulate",
        "--reps",
        str(reps),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    if publish:
        argv.append("--publish")
    t0 = time.perf_counter()
    with open("/dev/null", "wb") as devnull:
        proc = subprocess.Popen(argv, stdout=devnull, stderr=subprocess.PIPE, cwd=bl.ROOT)
        assert proc.stderr is not None
        # The CLI prints a progress line every 2 s: far too little to fill the pipe.
        exited = bl.wait4(proc, t0)
        stderr = proc.stderr.read().decode(errors="replace")
    summary = bl.parse_summary(stderr, "published" if publish else "simulated")
    if exited.status != 0 or summary is None:
        sys.stderr.write(stderr)
        raise SystemExit(f"bench: {' '.join(argv)} failed (exit {exited.status})")
    events, cli_s = summary
    return {
        "argv": argv[1:],
        "status": exited.status,
        "events": events,
        "wall_s": exited.wall_s,
        "rate_wall": bl.rate(events, exited.wall_s),
        "cli_s": cli_s,  # the CLI's own clock: after start-up and imports, up to the last flush
        "rate_cli": bl.rate(events, cli_s),
        "cpu_s": exited.cpu_s,
        "maxrss_kb": exited.maxrss_kb,
    }


def edge_costs(reps: int, seed: int) -> dict[str, Any]:
    """Per-event cost of what --publish does before and inside kafka-python, on a sample.

    parse (json + pydantic), encode (stamp + Avro + key), and kafka-python's record-batch
    CRC-32C, which is pure Python unless the `crc32c` package is installed.
    """
    from kafka.record import util as record_util

    from infra.publisher import partition_key, stamp
    from schemas.codec import encode
    from schemas.events import parse_event

    days = max(1, math.ceil(SAMPLE_EVENTS / (reps * EVENTS_PER_REP_DAY)))
    argv = [
        str(bl.VENV_BIN / "salespulse"),
        "simulate",
        "--reps",
        str(reps),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    lines = subprocess.run(argv, capture_output=True, check=True, cwd=bl.ROOT).stdout.splitlines()
    t0 = time.perf_counter()
    events = [parse_event(json.loads(line)) for line in lines]
    parse_s = time.perf_counter() - t0
    now = datetime.now(UTC)
    size = 0
    t0 = time.perf_counter()
    for event in events:
        event = stamp(event, recorded_at=now, source="simulator")
        size += len(encode(event)) + len(partition_key(event))
    encode_s = time.perf_counter() - t0
    n = len(events)
    # A v2 record adds ~10 bytes of framing per record to what the batch CRC covers.
    covered = bytes(min(size + 10 * n, 8 << 20))
    t0 = time.perf_counter()
    record_util.calc_crc32c(covered)
    crc_s = (time.perf_counter() - t0) * (size + 10 * n) / len(covered)
    return {
        "events": n,
        "bytes_per_event": size / n,
        "parse_us": parse_s / n * 1e6,
        "encode_us": encode_s / n * 1e6,
        "crc32c_c_extension": record_util.crc32c_c is not None,
        "crc_us": crc_s / n * 1e6,
    }


def table(r: dict[str, Any]) -> str:
    t = bl.Table(
        [
            "measure",
            "events",
            "wall s",
            "events/s (wall)",
            "events/s (CLI clock)",
            "CPU s",
            "peak RSS MiB",
        ]
    )
    for name, m in (
        ("simulate > /dev/null (generator)", r["generator"]),
        ("simulate --publish", r["publish"]),
    ):
        t.add(
            name,
            m["events"],
            m["wall_s"],
            m["rate_wall"],
            m["rate_cli"],
            m["cpu_s"],
            m["maxrss_kb"] / 1024,
        )
    e = r["edge_sample"]
    lines = [
        t.markdown(),
        "",
        f"publish / generator: {r['ratio_publish_to_generator']:.2f}; "
        f"broker CPU during publish: {r['publish']['broker_cpu_s'] or 0:.1f}s; "
        f"busy cores: {r['publish']['busy_cores']:.2f}",
        f"in process on {e['events']:,} events ({e['bytes_per_event']:.0f} bytes each): "
        f"json+pydantic parse {e['parse_us']:.1f} µs/event, stamp+Avro encode+key "
        f"{e['encode_us']:.1f} µs/event, kafka-python batch CRC-32C {e['crc_us']:.1f} µs/event "
        f"({'C crc32c' if e['crc32c_c_extension'] else 'pure Python: crc32c not installed'})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
