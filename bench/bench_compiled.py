"""Would compiling the per-event Python make the replay fast? Pure vs Cython vs mypyc, measured.

The replay's per-event path (trusted decode, fold, aggregate, the bulk build's dedupe) is
plain Python. This bench copies the project's packages to a scratch tree per variant,
compiles those modules there unchanged — Cython in pure-Python mode (`cythonize -3 -i`),
mypyc on the modules it accepts — and times the same stages in a child process per variant
and round, in process, single thread, the collector paused as in a replay:

  decode     schemas.trusted.decode_trusted(bytes) per record
  fold       projections.model.fold.fold(event, ctx), examples/kpis/v2_revised.toml
  aggregate  Aggregate.add_all(deltas) into one Aggregate, per 20k-record batch
  bulk_add   streams.bulk_build.BulkBuild.add over 20k-record batches of log values (decode +
             dedupe + fold + aggregate; nothing flushed)

Every variant's outputs (events, deltas, aggregates, the build's ids and stats) are hashed and
must equal the pure run's. Nothing is compiled in the working tree. Needs Cython
(`.venv/bin/pip install cython`); mypyc comes with mypy (dev dependency).

  PYTHONPATH=bench .venv/bin/python bench/bench_compiled.py [--rounds 3] [--days 30]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "projections", "streams", "infra", "producers", "salespulse", "examples")
MODULES = (
    "schemas/trusted.py",
    "projections/model/fold.py",
    "projections/model/aggregate.py",
    "projections/model/deltas.py",
    "projections/model/entities.py",
    "projections/model/state.py",
    "streams/bulk_build.py",
)
# mypyc refuses two of them at import: aggregate.py (a class-body table of its own methods)
# and trusted.py (a closure over a name bound in one branch); they stay pure there.
MYPYC_MODULES = tuple(
    m for m in MODULES if m not in ("schemas/trusted.py", "projections/model/aggregate.py")
)
BATCH = 20_000  # streams.bulk_build.READ_BATCH
PARTITIONS = 6
STAGES = ("decode", "fold", "aggregate", "bulk_add")


def tree(scratch: Path, variant: str) -> Path:
    """A copy of the packages, with the per-event modules compiled for `variant`."""
    where = scratch / variant
    for name in PACKAGES:
        shutil.copytree(ROOT / name, where / name, ignore=shutil.ignore_patterns("__pycache__"))
    bin_ = Path(sys.executable).parent
    if variant == "cython":
        if shutil.which("cythonize", path=str(bin_)) is None:
            sys.exit("bench_compiled: Cython is not installed (.venv/bin/pip install cython)")
        cmd = [str(bin_ / "cythonize"), "-3", "-i", "--directive", "binding=True", *MODULES]
    elif variant == "mypyc":
        cmd = [str(bin_ / "mypyc"), "--ignore-missing-imports", *MYPYC_MODULES]
    else:
        return where
    started = time.perf_counter()
    env = {**os.environ, "MYPYPATH": str(where)}
    done = subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_compiled: {variant} build failed:\n{done.stdout[-2000:]}{done.stderr}")
    print(f"{variant}: compiled in {time.perf_counter() - started:.0f} s", flush=True)
    return where


def history(path: Path, reps: int, days: int) -> None:
    """The simulator's events as `simulate --publish` writes them, grouped by partition."""
    from datetime import UTC, datetime

    from kafka.partitioner.default import murmur2

    from infra.publisher import partition_key, stamp
    from infra.settings import Settings
    from producers.admission import Admission
    from producers.simulator import DEFAULT_START, SimConfig, iter_emitted
    from schemas.codec import encode

    admission = Admission(Settings.from_env({}), dedupe_within_input=False)
    recorded = datetime(2026, 6, 1, tzinfo=UTC)  # fixed: the same bytes every run
    per_partition: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    config = SimConfig(reps=reps, days=days, seed=1, start=DEFAULT_START)
    for i, emitted in enumerate(iter_emitted(config)):
        event = stamp(admission.generated(emitted[3], i), recorded_at=recorded, source="sim")
        p = (murmur2(partition_key(event)) & 0x7FFFFFFF) % PARTITIONS
        per_partition[p].append(encode(event))
    records = [(p, o, v) for p, vs in per_partition.items() for o, v in enumerate(vs)]
    path.write_bytes(pickle.dumps(records, protocol=5))


class _NoLoader:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the bulk build flushed ({name}): it must not here")


def stages(history_path: Path, best_of: int) -> dict[str, Any]:
    """In the child: each stage's best time over the history, and digests of its outputs."""
    import projections.model.aggregate as m_aggregate
    import projections.model.fold as m_fold
    import schemas.trusted as m_trusted
    import streams.bulk_build as m_bulk
    from projections.model.context import FoldContext
    from projections.model.kpi import load_kpis

    compiled = sorted(Path(m.__file__ or "").name for m in (m_trusted, m_fold, m_aggregate, m_bulk))
    records = pickle.loads(history_path.read_bytes())
    raws = [v for _, _, v in records]
    ctx = FoldContext(load_kpis(ROOT / "examples" / "kpis" / "v2_revised.toml"))
    decode, fold = m_trusted.decode_trusted, m_fold.fold
    events = [decode(b) for b in raws]
    per_event = [fold(e, ctx) for e in events]
    n = len(events)
    delta_batches = [[d for ds in per_event[i : i + BATCH] for d in ds] for i in range(0, n, BATCH)]
    rec_batches = [records[i : i + BATCH] for i in range(0, n, BATCH)]  # undecoded, as read

    def build() -> Any:
        b = m_bulk.BulkBuild(ctx, _NoLoader(), m_bulk.DEFAULT_MEMORY)  # type: ignore[arg-type]
        for batch in rec_batches:
            b.add(batch)
        return b

    def aggregate() -> Any:
        a = m_aggregate.Aggregate()
        for ds in delta_batches:
            a.add_all(ds)
        return a

    runs = {
        "decode": lambda: [decode(b) for b in raws],
        "fold": lambda: [fold(e, ctx) for e in events],
        "aggregate": aggregate,
        "bulk_add": build,
    }
    gc.collect()
    gc.freeze()
    gc.disable()
    timings = {}
    for name in STAGES:
        best = float("inf")
        for _ in range(best_of):
            started = time.perf_counter()
            runs[name]()
            best = min(best, time.perf_counter() - started)
        timings[name] = best / n * 1e6
    gc.enable()
    a, b = aggregate(), build()
    settled = a.settle(ctx)
    b.segment.aggregate.settle(ctx)
    outputs = [
        repr(events),
        repr(per_event),
        repr(vars(a)) + repr(settled),
        repr(vars(b.segment.aggregate)),
        repr(b.stats) + repr(sorted((p, sorted(s)) for p, s in b.segment.ids.items())),
    ]
    digest = hashlib.sha256("\x00".join(outputs).encode()).hexdigest()
    return {"events": n, "us_per_event": timings, "digest": digest, "files": compiled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="child runs per variant")
    parser.add_argument("--best-of", type=int, default=3, help="passes per stage in a child")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--variants", default="pure,cython,mypyc")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(stages(args.child, args.best_of)))
        return
    variants = args.variants.split(",")
    with tempfile.TemporaryDirectory(prefix="salespulse-compiled-") as scratch_dir:
        scratch = Path(scratch_dir)
        trees = {v: tree(scratch, v) for v in variants}
        records = scratch / "history.pkl"
        history(records, args.reps, args.days)
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for round_ in range(args.rounds):  # interleaved: drift on a shared machine hits all
            for v in variants:
                env = {**os.environ, "PYTHONPATH": str(trees[v])}
                argv = [sys.executable, __file__, "--child", str(records)]
                argv += ["--best-of", str(args.best_of)]
                out = subprocess.run(argv, cwd=trees[v], env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"bench_compiled: {v} run failed:\n{out.stderr[-3000:]}")
                results[v].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"round {round_ + 1} {v}: {results[v][-1]['us_per_event']}", flush=True)
    report(results, args.out)


def report(results: dict[str, list[dict[str, Any]]], out: Path | None) -> None:
    base = results["pure"][0]
    print(f"\n{base['events']:,} events; µs/event, min / median over {len(results['pure'])} runs")
    print("| stage | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for stage in STAGES:
        cells = []
        for runs in results.values():
            xs = [r["us_per_event"][stage] for r in runs]
            cells.append(f"{min(xs):.2f} / {statistics.median(xs):.2f}")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    for v, runs in results.items():
        same = all(r["digest"] == base["digest"] for r in runs)
        print(f"{v}: modules {runs[0]['files']}; outputs equal the pure run's: {same}")
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
