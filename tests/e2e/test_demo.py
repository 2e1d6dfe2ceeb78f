"""`salespulse demo` as a user runs it: a dashboard URL that works, live numbers, a clean Ctrl-C,
and a second run that resumes the same org instead of publishing its history again.

The demo runs as a real process on the session's servers (so it starts and stops no stack),
with its own state folder, topics, consumer group and schema prefix.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(600)]

READY = re.compile(r"dashboard ready in ([\d.]+) s: (http://\S+)")


@dataclass
class DemoProcess:
    """`python -m salespulse.cli demo ...` with its output collected line by line."""

    proc: subprocess.Popen[str]
    logs_dir: Path
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, env: dict[str, str], *args: str) -> DemoProcess:
        proc = subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", "demo", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        demo = cls(proc, Path(env["SALESPULSE_STATE_DIR"]) / "demo" / "logs")
        threading.Thread(target=demo._read, daemon=True).start()
        return demo

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def diagnosis(self) -> str:
        """The demo's output and the tail of each child's log (for a failure message)."""
        parts = [self.output]
        for log in sorted(self.logs_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := pattern.search(line):
                    return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern.pattern!r}:\n{self.diagnosis()}")

    def interrupt(self, timeout: float = 90.0) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` (children, grandchildren...), pid -> command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                found[child] = cmd.decode(errors="replace").strip()
                frontier.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def calls_total(url: str, token: str) -> int:
    response = httpx.get(
        f"{url}/api/leaderboard",
        params={"metric": "calls"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["team_total"])


def wait_for_growth(url: str, token: str, above: int, timeout: float = 20.0) -> int:
    """The company's calls this month once they exceed `above` (the live producer at work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        total = calls_total(url, token)
        if total > above:
            return total
        time.sleep(0.5)
    raise AssertionError(f"calls stayed at {above} for {timeout:.0f} s")


@pytest.fixture
def demo_env(
    kafka_bootstrap: str,
    database_url: str,
    make_topic: Callable[..., str],
    pg_schema: str,
    unique_group: str,
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    # Topics made here so the fixture deletes them; the demo finds them and creates none.
    events = make_topic(partitions=3)
    yield {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "DATABASE_URL": database_url,
        "SALESPULSE_STATE_DIR": str(tmp_path / "state"),
        "SALESPULSE_EVENTS_TOPIC": events,
        "SALESPULSE_DLQ_TOPIC": make_topic(partitions=1, name=events + ".dlq"),
        "SALESPULSE_BROADCASTS_TOPIC": make_topic(partitions=1, name=events + ".broadcasts"),
        "SALESPULSE_PARTITIONS": "3",
        "SALESPULSE_SCHEMA_PREFIX": pg_schema,
        "SALESPULSE_WORKER_GROUP": unique_group,
    }


def run_until_live(env: dict[str, str], port: int) -> tuple[DemoProcess, str, str, float]:
    """Start the demo and wait for its dashboard line: (process, base URL, token, seconds)."""
    demo = DemoProcess.start(env, "--reps", "8", "--days", "7", "--rate", "20", "--port", str(port))
    found = demo.wait_for(READY, timeout=240)
    link = httpx.URL(found.group(2))
    token = link.params["token"]
    assert link.host == "127.0.0.1" and link.port == port
    return demo, f"http://127.0.0.1:{port}", token, float(found.group(1))


def stop_and_check(demo: DemoProcess) -> None:
    started = descendants(demo.proc.pid)
    commands = list(started.values())
    assert sum("salespulse.cli worker" in c for c in commands) == 2, commands
    assert sum("salespulse.cli api" in c for c in commands) == 1, commands
    assert sum("salespulse.cli notify" in c for c in commands) == 1, commands
    assert demo.interrupt() == 0, demo.diagnosis()
    survivors = {pid: cmd for pid, cmd in started.items() if running(pid)}
    assert not survivors, f"left behind: {survivors}\n{demo.diagnosis()}"


def test_demo_serves_a_live_dashboard_stops_cleanly_and_resumes_on_a_second_run(
    demo_env: dict[str, str],
) -> None:
    port = free_port()
    # given a first demo run on an empty event log
    demo, url, token, ready_s = run_until_live(demo_env, port)
    try:
        # then the printed link works: the API answers and knows the simulated org
        assert httpx.get(f"{url}/health", timeout=10).json()["mode"] == "tokens"
        assert httpx.get(f"{url}/api/leaderboard", timeout=10).status_code == 401
        board = httpx.get(
            f"{url}/api/leaderboard", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert board.status_code == 200 and board.json()["entries"], board.text
        assert "history:" in demo.output
        # and the live producer keeps moving the numbers
        wait_for_growth(url, token, calls_total(url, token))
    except BaseException:
        demo.proc.kill()
        raise
    # when Ctrl-C: exit 0 and no worker or API left behind
    stop_and_check(demo)
    print(f"first run: dashboard ready in {ready_s:.1f} s")

    # given a second run on the same log and state folder
    demo, url, token2, ready_s = run_until_live(demo_env, port)
    try:
        # then it publishes no second history, keeps the token and continues live
        assert "already holds" in demo.output and "history:" not in demo.output, demo.output
        assert token2 == token
        wait_for_growth(url, token, calls_total(url, token))
    except BaseException:
        demo.proc.kill()
        raise
    stop_and_check(demo)
    print(f"second run: dashboard ready in {ready_s:.1f} s")
