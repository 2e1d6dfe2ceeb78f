"""Summarise the profiled worker's pstats (bench/profiled_worker.py) by thread and component.

  .venv/bin/python bench/profile_summary.py bench/results/<run>/work/pf/worker

Every profiled function's own time (tottime) is put in one component by its file, so the
components of a thread add up to that thread's profiled time. cProfile slows pure-Python code
more than C code: read the shares, and compare rates with the unprofiled run.
"""

from __future__ import annotations

import pstats
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path
from typing import Any

# (component, substrings of the file or built-in name); the first match wins.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("idle: waiting in epoll/select", ("select.epoll", "'poll' of", "selectors.py")),
    ("waiting for the apply thread / locks", ("acquire' of '_thread", "_thread.lock")),
    # psycopg's C parts are invisible to cProfile: time waiting for the server and in libpq
    # shows up as own time of these Python frames.
    (
        "PostgreSQL: server round trips + libpq I/O",
        (
            "psycopg/connection.py:wait",
            "psycopg/_pipeline_base.py",
            "psycopg/generators.py",
            "psycopg/waiting.py",
            "wait_c",
            "psycopg_binary",
        ),
    ),
    ("psycopg Python side (adapt arrays, execute)", ("psycopg/", "psycopg_pool/")),
    ("Avro decode (fastavro + schemas/codec.py)", ("fastavro", "schemas/codec.py")),
    (
        "pydantic validation (decode)",
        ("pydantic", "schemas/events.py", "schemas/money.py", "validate_python", "SchemaValidator"),
    ),
    ("streams/ (decode_batch, agent)", ("streams/",)),
    (
        "store: merge + rows (projections/store, aggregate, batch)",
        ("projections/store", "projections/aggregate.py", "projections/batch.py"),
    ),
    ("fold (projections/, pure)", ("projections/",)),
    ("aiokafka (fetch, parse records)", ("aiokafka",)),
    ("faust + mode (stream, take_events, acks)", ("faust/", "mode/")),
    ("asyncio event loop", ("asyncio/", "uvloop", "_contextvars.Context", "_asyncio.")),
    ("logging", ("logging/",)),
    ("uuid / datetime / decimal", ("uuid.py", "datetime", "decimal", "_pydecimal")),
]


def component(func: tuple[str, int, str]) -> str:
    filename, _, name = func
    where = f"{filename}:{name}"
    for label, needles in COMPONENTS:
        if any(n in where for n in needles):
            return label
    return "other"


STDLIB = sysconfig.get_paths()["stdlib"]


def is_builtin(func: tuple[str, int, str]) -> bool:
    """A C built-in or a standard-library helper (not asyncio, which has its own component)."""
    return func[0] in ("~", "<string>") or func[0].startswith(("<frozen", STDLIB))


def load(path: Path) -> pstats.Stats | None:
    try:
        return pstats.Stats(str(path))
    except (OSError, TypeError, EOFError):
        return None  # an empty profile (e.g. no batch applied) cannot be loaded


def breakdown(stats: pstats.Stats) -> tuple[float, dict[str, float]]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    parts: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tt, _ct, callers) in raw.items():
        label = component(func)
        if label != "other" or not is_builtin(func) or not callers:
            parts[label] += tt
            continue
        # A built-in or standard-library helper (isinstance, len, weakref sets...) counts for
        # whoever called it, in proportion to the time it spent for each caller.
        spent = {caller: v[2] for caller, v in callers.items()}
        total = sum(spent.values()) or 1.0
        for caller, seconds in spent.items():
            parts[component(caller)] += tt * seconds / total
    return sum(parts.values()), dict(parts)


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of the function `name` defined in a file ending with `suffix`."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    return sum(v[3] for (f, _, n), v in raw.items() if f.endswith(suffix) and n == name)


def top(stats: pstats.Stats, n: int = 15) -> list[tuple[str, float, float, int]]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
    return [(f"{Path(f).name}:{line}({name})", v[2], v[3], v[1]) for (f, line, name), v in rows]


def summarise(prefix: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"threads": {}}
    text = []
    for thread in ("main", "apply"):
        stats = load(Path(f"{prefix}-{thread}.pstats"))
        if stats is None:
            continue
        total, parts = breakdown(stats)
        key = {
            "decode_batch": cumulative(stats, "streams/batching.py", "decode_batch"),
            "decode_record": cumulative(stats, "schemas/codec.py", "decode_record"),
            "decode": cumulative(stats, "schemas/codec.py", "decode"),
            "plan_batch (fold)": cumulative(stats, "projections/batch.py", "plan_batch"),
            "_write_aggregate": cumulative(stats, "projections/store.py", "_write_aggregate"),
            "apply_batch": cumulative(stats, "projections/store.py", "apply_batch"),
            "announcements hook (streams/announcer.py within)": cumulative(
                stats, "streams/announcer.py", "within"
            ),
        }
        out["threads"][thread] = {
            "profiled_s": total,
            "components": parts,
            "cumulative": {k: v for k, v in key.items() if v},
            "top": top(stats),
        }
        text.append(f"profile, {thread} thread: {total:.1f}s of own time")
        for label, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
            if seconds >= 0.005 * total:
                text.append(f"  {seconds:7.1f}s {seconds / total:6.1%}  {label}")
        for k, v in key.items():
            if v:
                text.append(f"  cumulative {k}: {v:.1f}s")
        text.append("  top functions by own time:")
        for name, tt, ct, calls in top(stats, 12):
            text.append(f"    {tt:7.2f}s own {ct:7.2f}s cum {calls:>10,} calls  {name}")
    apply_txt = Path(f"{prefix}-apply.txt")
    if apply_txt.exists():
        batches, records, seconds, lifetime = apply_txt.read_text().split()
        out["apply_calls"] = {
            "batches": int(batches),
            "records": int(records),
            "seconds": float(seconds),
            "lifetime_s": float(lifetime),
        }
        text.append(
            f"apply_batch: {batches} batches, {records} records, {float(seconds):.1f}s in "
            f"apply_batch of a {float(lifetime):.1f}s process lifetime"
        )
    out["text"] = "\n".join(text)
    return out


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]))["text"])
