"""Replay rate under revised KPIs over the bench topic, beside the bare bulk-read ceilings.

Run by bench/run.sh after bench_publish.py (the events are already on the topic). Measures,
in one run: `salespulse replay --kpis examples/kpis/v2_revised.toml --processes N` as a real
process for each run of --runs (N processes, optionally :MEMORY, e.g. 2:16M): wall time,
events/s, CPU (its own, and what PostgreSQL and the Kafka broker spent meanwhile, in all per
event), peak RSS of the largest process and of all its processes together, RSS sampled
over the run (to show it flat), and a checksum of every table of the built version (the same
result whatever the memory limit); and the same bulk reader in one process with no store —
raw records, then each value decoded as the bulk build decodes it (calls, visits and leads
by the C reader, schemas.native, when it is compiled, else by decode_activity; the rest by
decode_trusted) — as the ceiling; and every value decoded by decode_trusted (the acceptance's
"consume + trusted decode" ceiling, #14). A run spec ending in `:py` runs the replay with the
C reader turned off (SALESPULSE_NATIVE=0), e.g. `--runs 2,2:py,2,2:py` for interleaved pairs.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    ROOT,
    alive,
    drop_schemas,
    end_offsets,
    rate,
    servers_cpu_s,
    settings,
    variant_env,
    vm_status,
    wait4,
    write_json,
)

from projections.model.columns import eligible
from projections.model.context import FoldContext
from projections.model.kpi import load_kpis
from schemas import native
from schemas.native import scanner
from schemas.trusted import decode_activity, decode_trusted
from streams.bulk_build import ACTIVITY_TYPES
from streams.bulk_reader import read_raw_ranges

REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"


def ceiling(
    bootstrap: str, topic: str, ends: dict[int, int], decode: bool, trusted_only: bool = False
) -> float:
    """events/s of the replay's bulk reader alone, raw, or with each value decoded as the
    bulk build decodes it (the event dropped at once; `trusted_only`: every value through
    decode_trusted, as the build did before decode_activity): what a replay process would do
    if folding and writing cost nothing."""
    gc.collect()
    gc.freeze()
    gc.disable()  # the replay's own regime (streams/replay.py pauses the collector too)
    types = frozenset() if trusted_only else ACTIVITY_TYPES
    reader = None if trusted_only else scanner(eligible(FoldContext(load_kpis(REVISED)), types))
    started, n = time.perf_counter(), 0
    for batch in read_raw_ranges(bootstrap, topic, {}, ends):
        if decode:
            values = [value for _, _, value in batch]
            if reader is not None:
                values = [values[i] for i in reader.scan(values)[1]]  # the rows' rest
            for value in values:
                if value is not None and decode_activity(value, types) is None:
                    decode_trusted(value)
        n += len(batch)
    seconds = time.perf_counter() - started
    gc.enable()
    gc.unfreeze()
    return rate(n, seconds)


def tree_rss_kib(pid: int) -> int:
    """Resident KiB of `pid` plus its children (the replay's processes), 0 when gone."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return sum(vm_status(p).get("VmRSS", 0) for p in [pid, *map(int, children)])


def checksum(s: Any, schema: str) -> dict[str, list[int]]:
    """Rows and an order-independent hash sum per table of the version's schema."""
    import psycopg

    from projections.postgres.rowkinds import ROW_KINDS

    out = {}
    with psycopg.connect(s.database_url) as conn:
        for table in [k.table for k in ROW_KINDS] + ["applied_events", "applied_offsets"]:
            columns = "t.*" if table != "applied_offsets" else 'partition, "offset"'
            row = conn.execute(
                f"SELECT count(*), coalesce(sum(hashtext(({columns})::text)), 0) "
                f'FROM "{schema}"."{table}" t'
            ).fetchone()
            out[table] = [int(row[0]), int(row[1])] if row else [0, 0]
    return out


def run_replay(
    s: Any, tag: str, processes: int, total: int, memory: str = "", python: bool = False
) -> dict[str, Any]:
    """`salespulse replay` as a real process into its own schema prefix; wall, CPU, memory.
    `python`: with the C reader turned off."""
    env = variant_env(s, tag)
    if python:
        env["SALESPULSE_NATIVE"] = "0"
    # A schema left by an earlier run with this name would be resumed, not built (a bogus rate).
    drop_schemas(s.database_url, env["SALESPULSE_SCHEMA_PREFIX"])
    argv = [sys.executable, "-m", "salespulse.cli", "replay", "--kpis", str(REVISED)]
    argv += ["--no-progress", "--processes", str(processes)]
    if memory:
        argv += ["--memory", memory]
    servers_before = servers_cpu_s()
    started = time.perf_counter()
    samples: list[tuple[float, int]] = []
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, env=env, stderr=err, text=True)
        peak_tree = 0
        while proc.poll() is None:  # sample the process tree; wait4 below reaps it
            rss = tree_rss_kib(proc.pid)
            peak_tree = max(peak_tree, rss)
            samples.append((time.perf_counter() - started, rss))
            time.sleep(0.2)
            if alive(proc.pid) is False:
                break
        exited = wait4(proc, started, timeout=3600)
        servers_after = servers_cpu_s()  # before the checksum's queries
        err.seek(0)
        stderr = err.read()
    replay_rate = rate(total, exited.wall_s)
    pg, kafka = (servers_after[k] - servers_before[k] for k in ("postgres", "kafka"))
    # What the run cost the machine per event, and so the rate it could reach if nothing else
    # ran and every core were busy: the absolute aim (100k/s on 2 cores) needs <= 20 us.
    cpu_us = (exited.cpu_s + pg + kafka) / total * 1e6 if total else 0.0
    quarters = [samples[len(samples) * q // 4][1] // 1024 for q in (1, 2, 3)] if samples else []
    row = {
        "processes": processes, "memory": memory or "default", "status": exited.status,
        "c_reader": not python and native.available(),
        "wall_s": round(exited.wall_s, 2), "rss_mib_at_quarters": quarters,
        "checksum": checksum(s, f"{env['SALESPULSE_SCHEMA_PREFIX']}_v2"),
        "events_per_s": round(replay_rate), "cpu_s": round(exited.cpu_s, 1),
        "postgres_cpu_s": round(pg, 1), "kafka_cpu_s": round(kafka, 1),
        "cpu_us_per_event_all": round(cpu_us, 1),
        "peak_rss_mib_largest_process": round(exited.maxrss_kb / 1024, 1),
        "peak_rss_mib_all_processes": round(peak_tree / 1024, 1),
        "summary": stderr.strip()[-300:],
    }  # fmt: skip
    print(
        f"replay, {processes} process(es), memory {memory or 'default'}"
        f"{', C reader off' if python else ''}: {total:,} events in "
        f"{exited.wall_s:.1f} s = "
        f"{replay_rate:,.0f} events/s, peak RSS {row['peak_rss_mib_all_processes']:.0f} MiB "
        f"(all processes; largest {row['peak_rss_mib_largest_process']:.0f}), exit "
        f"{exited.status}; RSS at 1/4, 1/2, 3/4 of the run {quarters} MiB; CPU: replay "
        f"{exited.cpu_s:.1f} s + PostgreSQL {pg:.1f} s + Kafka {kafka:.1f} s = {cpu_us:.1f} us "
        f"an event; {stderr.strip()[-160:]}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--runs", default="2,1,2:16M", help="replay runs: processes[:memory], comma-separated"
    )
    args = parser.parse_args()
    s = settings()
    ends = end_offsets(s)
    total = sum(ends.values())
    runs = []
    for i, spec in enumerate(args.runs.split(","), 1):
        n, *options = spec.split(":")
        python = "py" in options
        memory = next((o for o in options if o != "py"), "")
        # Each run its own schemas, also when two runs have the same spec (e.g. 2,2).
        tag = f"replay{i}_p{n}{'_' + memory.lower() if memory else ''}{'_py' if python else ''}"
        runs.append(run_replay(s, tag, int(n), total, memory, python))
    raw = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=False)
    decoded = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True)
    trusted = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True, trusted_only=True)
    best = max(r["events_per_s"] for r in runs)
    same = all(r["checksum"] == runs[0]["checksum"] for r in runs)
    result = {
        "same_result_every_run": same,
        "events": total,
        "replay": runs,
        "ceiling_raw_events_per_s": round(raw),
        "ceiling_decoded_events_per_s": round(decoded),
        "best_replay_over_decoded_ceiling": round(best / decoded, 2) if decoded else None,
        "ceiling_decode_trusted_events_per_s": round(trusted),
        "best_replay_over_decode_trusted_ceiling": round(best / trusted, 2) if trusted else None,
    }
    write_json(args.out, result)
    print(
        f"ceiling (one process, the replay's bulk reader): raw {raw:,.0f}/s, + the build's "
        f"decode {decoded:,.0f}/s, + decode_trusted of every value {trusted:,.0f}/s; best "
        f"replay / those ceilings {result['best_replay_over_decoded_ceiling']}, "
        f"{result['best_replay_over_decode_trusted_ceiling']}; same tables in every run: {same}",
        flush=True,
    )


if __name__ == "__main__":
    main()
