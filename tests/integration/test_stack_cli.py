"""`salespulse stack up | status | down` on a second, private stack (own ports and folder)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from salespulse.stack.config import PROJECT_ROOT, StackConfig
from salespulse.stack.kafka import LocalKafka
from salespulse.stack.process import StackError, is_alive

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_stack_env() -> Iterator[dict[str, str]]:
    # Under the project, not /tmp: as root the cluster belongs to the `postgres` user, who
    # must be able to traverse the path.
    state = PROJECT_ROOT / ".salespulse" / "test-stacks" / uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "DATABASE_URL")}
    env.update(
        SALESPULSE_STATE_DIR=str(state),
        SALESPULSE_KAFKA_PORT=str(_free_port()),
        SALESPULSE_KAFKA_CONTROLLER_PORT=str(_free_port()),
        SALESPULSE_PG_PORT=str(_free_port()),
        SALESPULSE_KAFKA_HEAP="512m",
    )
    yield env
    _cli(env, "down")
    shutil.rmtree(state, ignore_errors=True)


def _cli(env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salespulse.cli", "stack", action],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _pids(status_stdout: str) -> dict[str, int]:
    pids = {}
    for line in status_stdout.splitlines()[1:]:
        cols = line.split()
        if cols[3] != "-":
            pids[cols[0]] = int(cols[3])
    return pids


def test_up_twice_status_down_leaves_nothing_behind(private_stack_env: dict[str, str]) -> None:
    env = private_stack_env
    # given a first `up`: both servers start and say where they are
    first = _cli(env, "up")
    assert first.returncode == 0, first.stderr
    assert "kafka 3.9.1: started at 127.0.0.1:" + env["SALESPULSE_KAFKA_PORT"] in first.stdout
    assert (
        "postgres" in first.stdout
        and "started at 127.0.0.1:" + env["SALESPULSE_PG_PORT"] in first.stdout
    )
    status = _cli(env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    pids = _pids(status.stdout)
    assert set(pids) == {"kafka", "postgres"}
    assert status.stdout.count("healthy") == 2
    assert "3.9.1" in status.stdout and env["SALESPULSE_STATE_DIR"] in status.stdout

    # when `up` runs again, then nothing new starts: the same processes answer
    second = _cli(env, "up")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    assert _pids(_cli(env, "status").stdout) == pids

    # when `down` runs, then no process is left behind and status says so
    down = _cli(env, "down")
    assert down.returncode == 0, down.stderr
    assert not any(is_alive(pid) for pid in pids.values())
    after = _cli(env, "status")
    assert after.returncode == 1
    assert after.stdout.count("down") == 2


def test_busy_port_gives_a_one_line_error_naming_the_fix(private_stack_env: dict[str, str]) -> None:
    env = private_stack_env
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(env["SALESPULSE_PG_PORT"])))
        squatter.listen()
        result = _cli(env, "up")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port 127.0.0.1:{env['SALESPULSE_PG_PORT']} for postgres is busy" in lines[0]
    assert "SALESPULSE_PG_PORT=<port>" in lines[0]


def test_missing_java_gives_an_error_naming_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("SALESPULSE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no java on it
    with pytest.raises(StackError, match=r"java not found: install a Java 17\+ runtime"):
        LocalKafka(StackConfig.from_env()).up()


def test_external_servers_start_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "kafka.example:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@db.example/app")
    env = dict(os.environ)
    result = _cli(env, "up")
    assert result.returncode == 0
    assert "using KAFKA_BOOTSTRAP=kafka.example:9092 (nothing started)" in result.stdout
    assert "u:***@db.example" in result.stdout
    assert "secret" not in result.stdout  # passwords are never printed
