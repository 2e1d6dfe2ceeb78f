"""Merge one run's publish.json and pipeline.json into results.json + results.md, and print it.

Usage: .venv/bin/python bench/report.py bench/results/<run id>
Also copies them to bench/results/latest.json and latest.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bench_pipeline
import bench_publish
import benchlib as bl

PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "fastavro", "pydantic", "psycopg")


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=bl.ROOT
    ).stdout.strip()
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "packages": {p: metadata.version(p) for p in PACKAGES},
        "commit": commit,
    }


def headline(pub: dict[str, Any], pipe: dict[str, Any], rep: dict[str, Any] | None) -> bl.Table:
    t = bl.Table(["figure", "events/s"])
    t.add("simulate --publish (wall, incl. start-up and final flush)", pub["publish"]["rate_wall"])
    t.add("simulate > /dev/null (generator ceiling)", pub["generator"]["rate_wall"])
    for p in pipe["pipeline"]:
        t.add(f"pipeline, {bench_pipeline.label(p)}, end to end", p["rate_end_to_end"])
        t.add(f"pipeline, {bench_pipeline.label(p)}, steady state", p["rate_steady"])
    for kind in ("decode_record", "decode", "decode_trusted"):
        best = bench_pipeline.best_ceiling(pipe, kind)
        if best:
            t.add(f"ceiling: consume + {kind} (best client)", best)
    for r in (rep or {}).get("replay", []):
        t.add(f"replay, {r['processes']} process(es), wall", r["events_per_s"])
    if rep:
        ceiling = rep["ceiling_decoded_events_per_s"]
        t.add("replay ceiling: bulk reader + the build's decode (one process)", ceiling)
    return t


def replay_table(rep: dict[str, Any]) -> str:
    t = bl.Table(
        [
            "replay (bench_replay.py)", "events/s", "wall s", "CPU s",
            "PostgreSQL / Kafka CPU s", "CPU µs an event (all)", "peak RSS MiB (all / largest)",
        ]
    )  # fmt: skip
    for r in rep["replay"]:
        servers = f"{r['postgres_cpu_s']} / {r['kafka_cpu_s']}" if "kafka_cpu_s" in r else ""
        memory = "" if r.get("memory", "default") == "default" else f" --memory {r['memory']}"
        t.add(
            f"salespulse replay --processes {r['processes']}{memory} (exit {r['status']})",
            r["events_per_s"], r["wall_s"], r["cpu_s"], servers, r.get("cpu_us_per_event_all", ""),
            f"{r['peak_rss_mib_all_processes']:.0f} / {r['peak_rss_mib_largest_process']:.0f}",
        )  # fmt: skip
    blank = ("",) * 5
    t.add("ceiling: bulk reader, raw", rep["ceiling_raw_events_per_s"], *blank)
    t.add("ceiling: bulk reader + the build's decode", rep["ceiling_decoded_events_per_s"], *blank)
    trusted = rep.get("ceiling_decode_trusted_events_per_s")
    if trusted:
        t.add("ceiling: bulk reader + decode_trusted of each value", trusted, *blank)
    ratios = f"best replay / the build's decode ceiling: {rep['best_replay_over_decoded_ceiling']}"
    if trusted:
        ratios += (
            f"; / the decode_trusted ceiling: {rep['best_replay_over_decode_trusted_ceiling']}"
        )
    return t.markdown() + "\n\n" + ratios


def main() -> None:
    run = Path(sys.argv[1])
    pub = json.loads((run / "publish.json").read_text())
    pipe = json.loads((run / "pipeline.json").read_text())
    replay_json = run / "replay.json"
    rep = json.loads(replay_json.read_text()) if replay_json.exists() else None
    m = machine()
    results = {"run": run.name, "machine": m, "publish": pub, "pipeline": pipe, "replay": rep}
    md = "\n".join(
        [
            f"# Bench run {run.name}",
            "",
            f"{m['date_utc']} · {m['cores']} cores ({m['cpu']}) · {m['memory_gib']} GiB · "
            f"Python {m['python']} · commit {m['commit']} · "
            + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
            "",
            f"{pub['publish']['events']:,} events ({pub['reps']} reps x {pub['days']} days, "
            f"seed {pub['seed']}) on {pub['partitions']} partitions. Code: publish at "
            f"{pub.get('commit')}, pipeline {pipe.get('commit_at_start')} -> "
            f"{pipe.get('commit_at_end')}"
            + (
                " (CHANGED during the run)"
                if len({pub.get("commit"), pipe.get("commit_at_start"), pipe.get("commit_at_end")})
                > 1
                else ""
            )
            + ". Background load before the pipeline: "
            f"{pipe['background_busy_cores']:.2f} busy cores.",
            "",
            "## Headline",
            "",
            headline(pub, pipe, rep).markdown(),
            "",
            "## Publish (bench_publish.py)",
            "",
            bench_publish.table(pub),
            "",
            "## Pipeline (bench_pipeline.py)",
            "",
            bench_pipeline.report(pipe),
            "",
            *(["## Replay (bench_replay.py)", "", replay_table(rep), ""] if rep else []),
        ]
    )
    (run / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (run / "results.md").write_text(md)
    shutil.copyfile(run / "results.json", run.parent / "latest.json")
    shutil.copyfile(run / "results.md", run.parent / "latest.md")
    print(md)
    print(f"results: {run / 'results.md'} and {run / 'results.json'} (also latest.*)")


if __name__ == "__main__":
    main()
