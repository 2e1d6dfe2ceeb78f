"""The demo's own processes (workers, the API): started, watched and stopped, never left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Started as `python -c _LAUNCH <demo pid> <salespulse args>`: it asks the kernel for SIGTERM
# when the demo dies (PR_SET_PDEATHSIG = 1), which holds even if the demo is SIGKILLed and has
# no chance to clean up, then becomes `python -m salespulse.cli ...` (the setting survives
# exec). A demo that died before prctl took effect is seen as a changed parent.
_LAUNCH = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.executable, [sys.executable, "-m", "salespulse.cli", *sys.argv[2:]])
"""


class ChildFailed(RuntimeError):
    """A child process exited while the demo still needed it; the message has its log tail."""


@dataclass
class Child:
    """One `salespulse <command>` subprocess of the same Python, its output in a log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    # A SIGINT this long after the SIGTERM: uvicorn waits for open streams (a dashboard's
    # /api/stream never ends by itself) until a SIGINT tells it to stop waiting.
    force_after_s: float | None = None

    @classmethod
    def start(
        cls,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        force_after_s: float | None = None,
    ) -> Child:
        if sys.platform.startswith("linux"):
            argv = [sys.executable, "-c", _LAUNCH, str(os.getpid()), *args]
        else:
            argv = [sys.executable, "-m", "salespulse.cli", *args]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:  # one run per log file: the tail is this run's
            proc = subprocess.Popen(
                argv,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C in the terminal reaches only the demo, which stops
                # its live producer first and then the children, and knows when they are gone.
                start_new_session=True,
            )
        return cls(name, proc, log_path, force_after_s)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self) -> None:
        """Raise ChildFailed when the process has exited."""
        code = self.proc.poll()
        if code is not None:
            raise ChildFailed(
                f"{self.name} (pid {self.pid}) exited with status {code}; "
                f"last lines of {self.log_path}:\n{self.tail()}"
            )

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])


def stop_all(children: Sequence[Child], timeout: float = 20.0) -> list[str]:
    """SIGTERM to all at once (they shut down in parallel); SIGINT after `force_after_s` to a
    child that has it; SIGKILL whoever is still there after `timeout`. Returns one line per
    child saying how it ended."""
    began = time.monotonic()
    for child in children:
        _signal(child, signal.SIGTERM)
    forced: set[int] = set()
    while any(c.alive() for c in children) and time.monotonic() - began < timeout:
        for child in children:
            after = child.force_after_s
            if after is not None and child.pid not in forced and time.monotonic() - began > after:
                forced.add(child.pid)
                _signal(child, signal.SIGINT)
        time.sleep(0.05)
    report = []
    for child in children:
        how = "stopped"
        if child.alive():
            child.proc.kill()
            how = f"killed after {timeout:.0f} s"
        code = child.proc.wait()
        # uvicorn re-raises the SIGTERM it handled, so "by SIGTERM" is its normal end.
        end = f"by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        report.append(f"{child.name} {how} (pid {child.pid}, {end})")
    return report


def _signal(child: Child, signum: int) -> None:
    if child.alive():
        with contextlib.suppress(ProcessLookupError):
            child.proc.send_signal(signum)
