"""Run `salespulse worker` as a real OS process for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path


class WorkerProcess:
    """A worker subprocess with its own environment (topics, group, schema prefix).

    `args` run another long-lived command the same way (e.g. `notify --channels FILE`).
    """

    def __init__(
        self, env: Mapping[str, str], log_path: Path, args: tuple[str, ...] = ("worker",)
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "salespulse.cli", *self.args],
            env={**os.environ, **self.env},
            # The faust engine writes a `<group>-data/` folder into its working directory.
            cwd=self.log_path.parent,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit — the crash the store must survive."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "log"):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, needle: str, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return True
            if not self.alive:
                return False
            time.sleep(0.2)
        return False
