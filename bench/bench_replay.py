"""Replay rate under revised KPIs over the bench topic, beside the bare bulk-read ceilings.

Run by bench/run.sh after bench_publish.py (the events are already on the topic). Measures,
in one run: `salespulse replay --kpis examples/kpis/v2_revised.toml` as a real process
(wall time, events/s, peak RSS), and the same bulk reader with no store — raw records, then
decoded (decode_batch: Avro + pydantic) — as the ceiling the replay could reach.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ROOT, end_offsets, rate, settings, variant_env, wait4, write_json

from streams.bulk_reader import read_ranges

REVISED = ROOT / "examples" / "kpis" / "v2_revised.toml"


def ceiling(bootstrap: str, topic: str, ends: dict[int, int], decode: bool) -> float:
    """events/s of the bulk reader alone (decode_batch is what read_ranges does per batch)."""
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
    return rate(n, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    s = settings()
    ends = end_offsets(s)
    total = sum(ends.values())
    env = variant_env(s, "replay")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "salespulse.cli", "replay", "--kpis", str(REVISED), "--no-progress"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    exited = wait4(proc, started, timeout=3600)
    stderr = proc.stderr.read() if proc.stderr else ""
    raw = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=False)
    decoded = ceiling(s.kafka_bootstrap, s.events_topic, ends, decode=True)
    replay_rate = rate(total, exited.wall_s)
    result = {
        "events": total,
        "replay": {
            "status": exited.status, "wall_s": round(exited.wall_s, 2),
            "events_per_s": round(replay_rate), "cpu_s": round(exited.cpu_s, 1),
            "peak_rss_mib": round(exited.maxrss_kb / 1024, 1), "summary": stderr.strip()[-300:],
        },
        "ceiling_raw_events_per_s": round(raw),
        "ceiling_decoded_events_per_s": round(decoded),
        "replay_over_decoded_ceiling": round(replay_rate / decoded, 2) if decoded else None,
    }  # fmt: skip
    write_json(args.out, result)
    print(
        f"replay: {total:,} events in {exited.wall_s:.1f} s = {replay_rate:,.0f} events/s, "
        f"peak RSS {exited.maxrss_kb / 1024:.0f} MiB (exit {exited.status}); ceiling: bulk read "
        f"raw {raw:,.0f}/s, + decode {decoded:,.0f}/s; replay / decode ceiling "
        f"{result['replay_over_decoded_ceiling']}"
    )


if __name__ == "__main__":
    main()
