"""Shared helpers of the benchmarks: the run's names, child processes, /proc sampling, clean-up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the run's private names ----------------------------------------------------------------------
def settings() -> Settings:
    """The bench run's settings: run.sh exports private topic, group and schema-prefix names."""
    s = Settings.from_env()
    if not s.events_topic.startswith("bench.") or not s.schema_prefix.startswith("bench_"):
        raise SystemExit(
            "bench: refusing to run against non-bench names "
            f"(topic {s.events_topic!r}, schema prefix {s.schema_prefix!r}); use bench/run.sh"
        )
    return s


def variant_env(s: Settings, tag: str) -> dict[str, str]:
    """Env for one measured variant: same log, its own consumer group and projection schemas."""
    return {
        **os.environ,
        "SALESPULSE_SCHEMA_PREFIX": f"{s.schema_prefix}_{tag}",
        "SALESPULSE_WORKER_GROUP": f"{s.worker_group}-{tag}",
    }


# -- child processes ------------------------------------------------------------------------------
@dataclass
class Exited:
    """A child's end: exit status, wall time, CPU seconds and peak RSS (from wait4's rusage)."""

    status: int
    wall_s: float
    cpu_s: float
    maxrss_kb: int
    stderr: str = ""


def wait4(proc: subprocess.Popen[Any], started: float, timeout: float | None = None) -> Exited:
    """Reap `proc` with os.wait4 (SIGKILL after `timeout`) so its rusage is not lost."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            proc.send_signal(signal.SIGKILL)
            deadline = None
        time.sleep(0.05)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Exited(proc.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)


def proc_stat(pid: int) -> tuple[str, list[str]] | None:
    """A process's name and the fields of /proc/<pid>/stat after it (state first), None when
    it is gone. The name is cut at the last ")", since it may hold spaces and parentheses."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not yet reaped, is not alive)."""
    stat = proc_stat(pid)
    return stat is not None and stat[1][0] not in ("Z", "X")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (0.0 when it is gone)."""
    stat = proc_stat(pid)
    return 0.0 if stat is None else (int(stat[1][11]) + int(stat[1][12])) / CLK_TCK


def vm_status(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS of a live process in KiB ({} when it is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def servers_cpu_s() -> dict[str, float]:
    """CPU seconds so far of the local servers: every postgres process (with what the
    postmaster reaped from exited backends) and the Kafka broker's JVM. The difference of two
    readings is what the servers spent between them, e.g. serving one replay."""
    total = {"postgres": 0.0, "kafka": 0.0}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        stat = proc_stat(pid)
        if stat is None:
            continue
        name, fields = stat
        if name.startswith("postgres"):
            server = "postgres"
        elif name == "java" and _cmdline_has(pid, b"kafka"):
            server = "kafka"
        else:
            continue
        total[server] += sum(int(f) for f in fields[11:15]) / CLK_TCK  # with reaped children
    return total


def _cmdline_has(pid: int, text: bytes) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # up to steal; guest time is already counted in user
    return float(total - idle), float(total)


def busy_cores(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Average busy cores between two system_busy() readings."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return 0.0 if total <= 0 else busy / total * (os.cpu_count() or 1)


def background_busy(seconds: float = 3.0) -> float:
    """Busy cores over a few seconds before measuring: how much else the machine is doing."""
    before = system_busy()
    time.sleep(seconds)
    return busy_cores(before, system_busy())


def broker_pid() -> int | None:
    """The local stack's Kafka broker pid, when the bench runs against the local stack."""
    if "KAFKA_BOOTSTRAP" in os.environ and not os.environ.get("BENCH_LOCAL_STACK"):
        return None
    try:
        from salespulse.stack.config import StackConfig
        from salespulse.stack.kafka import LocalKafka

        return LocalKafka(StackConfig.from_env()).status().pid
    except Exception:
        return None


def socket_ports(pid: int, remote_port: int) -> set[int]:
    """Local TCP ports of `pid`'s sockets connected to `remote_port` (e.g. PostgreSQL's)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def parse_summary(stderr: str, verb: str) -> tuple[int, float] | None:
    """(events, seconds) from the CLI's last 'VERB N events in S s' progress line."""
    found = re.findall(rf"{verb} (\d+) events in ([\d.]+) s", stderr)
    return (int(found[-1][0]), float(found[-1][1])) if found else None


# -- Kafka / PostgreSQL -----------------------------------------------------------------------
def end_offsets(s: Settings) -> dict[int, int]:
    from infra.offsets import end_offsets as _end_offsets

    return _end_offsets(s.kafka_bootstrap, s.events_topic)


def drop_schemas(url: str, prefix: str) -> list[str]:
    """Drop every PostgreSQL schema whose name starts with `prefix`; returns their names."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
            ).fetchall()
        ]
        for name in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    return names


def delete_topics_and_groups(bootstrap: str, topic_prefixes: Sequence[str]) -> dict[str, Any]:
    """Delete topics and consumer groups whose names start with one of `topic_prefixes`."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="salespulse-bench-cleanup")
    try:
        topics = [t for t in admin.list_topics() if t.startswith(tuple(topic_prefixes))]
        if topics:
            admin.delete_topics(topics, timeout_ms=30_000)
        # kafka-python 3 names these list_groups / delete_groups (dicts); 2.x list_consumer_groups.
        if hasattr(admin, "list_groups"):
            groups = [g["group_id"] for g in admin.list_groups()]
        else:
            groups = [g[0] for g in admin.list_consumer_groups()]
        groups = [g for g in groups if g.startswith(tuple(topic_prefixes))]
        if groups:
            delete = getattr(admin, "delete_groups", None) or admin.delete_consumer_groups
            delete(groups)
        return {"topics": sorted(topics), "groups": sorted(groups)}
    finally:
        admin.close()


# -- output -------------------------------------------------------------------------------------
@dataclass
class Table:
    """A small markdown table, kept as rows so the report can also go to JSON."""

    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def markdown(self) -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"
            if isinstance(v, int):
                return f"{v:,}"
            return str(v)

        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines)


def write_json(path: Path | None, data: Mapping[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def rate(events: float, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


def chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def git_commit() -> str:
    """The work tree's HEAD (short) and whether tracked files differ from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    return head + ("+dirty" if dirty else "")
