"""Small helpers for daemons the stack owns: pid files, liveness, ports, stopping."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceStatus:
    """What `stack status` shows of one server."""

    version: str
    address: str
    pid: int | None
    data_dir: Path
    healthy: bool
    external: bool


class StackError(RuntimeError):
    """A problem starting or stopping the stack, phrased as what the user should do."""


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive for our purposes.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return answered(sock, host, port)


def answered(sock: socket.socket, host: str, port: int) -> bool:
    """Connect `sock`; True when a server accepted. A free port in the ephemeral range can
    be picked as the socket's own source port, and TCP then connects the socket to itself
    (simultaneous open): that is nobody listening, not a busy port."""
    if sock.connect_ex((host, port)) != 0:
        return False
    return bool(sock.getsockname() != sock.getpeername())


def ensure_port_free(host: str, port: int, what: str, env_var: str) -> None:
    """Fail with a one-line, actionable error when something else holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StackError(
                    f"port {host}:{port} for {what} is busy (another process listens there): "
                    f"stop that process or choose another port with {env_var}=<port>"
                ) from exc
            raise


def wait_until(check: object, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


def terminate(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; returns once the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(lambda: not is_alive(pid), timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not is_alive(pid), 10)
