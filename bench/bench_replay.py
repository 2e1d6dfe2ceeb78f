"""Replay rate under revised KPIs over the bench topic, beside the bare bulk-read ceilings.

Run by bench/run.sh after bench_publish.py (the events are already on the topic). Measures,
in one run: `salespulse replay --kpis examples/kpis/v2_revised.toml --processes N` as a real
process for each N of --processes (wall time, events/s, CPU, peak RSS of the largest process
and of all its processes together), and the same bulk reader in one process with no store —
raw records, then decoded (decode_batch: Avro + pydantic) — as the ceiling.
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
    end_offsets,
    rate,
    settings,
    variant_env,
    vm_status,
    wait4,
    write_json,
)

from streams.bulk_reader import read_ranges

REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"


def ceiling(bootstrap: str, topic: str, ends: dict[int, int], decode: bool) -> float:
    """events/s of the bulk reader alone (decode_batch is what read_ranges does per batch)."""
    gc.collect()
    gc.freeze()
    gc.disable()  # the replay's own regime (streams/replay.py pauses the collector too)
    started, n = time.perf_counter(), 0
    if decode:
        for batch in read_ranges(bootstrap, topic, {}, ends):
            n += len(batch)
    else:
        import streams.bulk_reader as br

        original = br.decode_batch
        br.decode_batch = lambda raw: type("B", (), {"records": list(raw)})()  # type: ignore[assignment]
        try:
            for batch in read_ranges(bootstrap, topic, {}, ends):
                n += len(batch)
        finally:
            br.decode_batch = original
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


def run_replay(s: Any, tag: str, processes: int, total: int) -> dict[str, Any]:
    """`salespulse replay` as a real process into its own schema prefix; wall, CPU, memory."""
    env = variant_env(s, tag)
    argv = [sys.executable, "-m", "salespulse.cli", "replay", "--kpis", str(REVISED)]
    argv += ["--no-progress", "--processes", str(processes)]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, env=env, stderr=err, text=True)
        peak_tree = 0
        while proc.poll() is None:  # sample the process tree; wait4 below reaps it
            peak_tree = max(peak_tree, tree_rss_kib(proc.pid))
            time.sleep(0.2)
            if alive(proc.pid) is False:
                break
        exited = wait4(proc, started, timeout=3600)
        err.seek(0)
        stderr = err.read()
    replay_rate = rate(total, exited.wall_s)
    row = {
        "processes": processes, "status": exited.status, "wall_s": round(exited.wall_s, 2),
        "events_per_s": round(replay_rate), "cpu_s": round(exited.cpu_s, 1),
        "peak_rss_mib_largest_process": round(exited.maxrss_kb / 1024, 1),
        "peak_rss_mib_all_processes": round(peak_tree / 1024, 1),
        "summary": stderr.strip()[-300:],
    }  # fmt: skip
    print(
        f"replay, {processes} process(es): {total:,} events in {exited.wall_s:.1f} s = "
        f"{replay_rate:,.0f} events/s, peak RSS {row['peak_rss_mib_all_processes']:.0f} MiB "
        f"(all processes; largest {row['peak_rss_mib_largest_process']:.0f}), exit "
        f"{exited.status}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--processes", default="1,2", help="replay process counts to run")
    args = parser.parse_args()
    s = settings()
    ends = end_offsets(s)
    total = sum(ends.values())
    runs = [
        run_replay(s, f"replay{n}", n, total) for n in (int(x) for x in args.processes.split(","))
    ]
    raw = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=False)
    decoded = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True)
    best = max(r["events_per_s"] for r in runs)
    result = {
        "events": total,
        "replay": runs,
        "ceiling_raw_events_per_s": round(raw),
        "ceiling_decoded_events_per_s": round(decoded),
        "best_replay_over_decoded_ceiling": round(best / decoded, 2) if decoded else None,
    }
    write_json(args.out, result)
    print(
        f"ceiling (one process, the replay's bulk reader): raw {raw:,.0f}/s, + decode "
        f"{decoded:,.0f}/s; best replay / decode ceiling "
        f"{result['best_replay_over_decoded_ceiling']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
