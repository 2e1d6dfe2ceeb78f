"""A PostgreSQL cluster from the system's binaries, initialised under the project's state folder."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from salespulse.stack.config import StackConfig
from salespulse.stack.process import (
    ServiceStatus,
    StackError,
    ensure_port_free,
    is_alive,
    port_answers,
    read_pid,
    wait_until,
)

START_TIMEOUT_S = 60.0
# Debian installs each major version's server binaries here (package `postgresql`).
BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVICE_USER = "postgres"  # initdb refuses to run as root; Debian's package creates this user

# A development cluster: loopback only, trust auth for the loopback address (no passwords on
# a dev box), and asynchronous commit. Offsets are committed in the same transaction as the
# projection rows, so losing the last few commits in a crash only means re-applying them.
# wal_level=minimal (no replicas, no archive): a table filled in the transaction that emptied
# it is written without WAL and synced at commit, which the replay's merge does per table.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "synchronous_commit": "off",
    "max_wal_size": "2GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "checkpoint_timeout": "15min",
    "log_min_messages": "warning",
}


class LocalPostgres:
    """Start, stop and inspect the cluster whose files live under `<state>/postgres`."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.home = config.state_dir / "postgres"
        self.data_dir = self.home / "data"
        self.socket_dir = self.home / "run"
        self.log_file = self.home / "server.log"

    def status(self) -> ServiceStatus:
        if self.config.external_database:
            return ServiceStatus(
                "external", redact(self.config.external_database), None, Path("-"),
                self._accepts_connections(), True,
            )  # fmt: skip
        pid = read_pid(self.data_dir / "postmaster.pid")
        alive = is_alive(pid)
        version = self._version() if find_bin_dir() else "not installed"
        return ServiceStatus(
            version,
            f"{self.config.host}:{self.config.pg_port}",
            pid if alive else None,
            self.data_dir,
            alive and self._accepts_connections(),
            False,
        )

    def _accepts_connections(self) -> bool:
        import psycopg  # deferred: keep `salespulse --help` fast

        try:
            with psycopg.connect(self.config.database_url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _version(self) -> str:
        out = subprocess.run(
            [str(self._bin("postgres")), "--version"], capture_output=True, text=True
        ).stdout
        match = re.search(r"(\d+(\.\d+)*)", out)
        return match.group(1) if match else out.strip()

    def _bin(self, name: str) -> Path:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise StackError(
                "PostgreSQL server binaries not found: install them with "
                "`apt-get install postgresql` (Debian/Ubuntu)"
            )
        return bin_dir / name

    # -- lifecycle ----------------------------------------------------------------------
    def up(self) -> str:
        if self.config.external_database:
            url = redact(self.config.external_database)
            return f"postgres: using DATABASE_URL={url} (nothing started)"
        ensure_installed()
        pid = read_pid(self.data_dir / "postmaster.pid")
        if is_alive(pid):
            if not wait_until(self._accepts_connections, START_TIMEOUT_S):
                raise StackError(
                    f"postgres (pid {pid}) runs but refuses connections; see {self.log_file}"
                )
            return (
                f"postgres: already running at {self.config.host}:{self.config.pg_port} (pid {pid})"
            )
        ensure_port_free(self.config.host, self.config.pg_port, "postgres", "SALESPULSE_PG_PORT")
        self._init_once()
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -p {self.config.pg_port} -c unix_socket_directories={self.socket_dir}"
        result = self._run_as_owner(
            [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_file),
             "-w", "-t", str(int(START_TIMEOUT_S)), "-o", options, "start"],
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(
                f"postgres did not start: {result.stderr.strip()[-300:]}; see {self.log_file}"
            )
        if not wait_until(self._server_answers, START_TIMEOUT_S):
            raise StackError(f"postgres started but refuses connections; see {self.log_file}")
        self._create_database_once()
        pid = read_pid(self.data_dir / "postmaster.pid")
        where = f"{self.config.host}:{self.config.pg_port}"
        return f"postgres {self._version()}: started at {where} (pid {pid})"

    def down(self, mode: str = "fast") -> str:
        """Stop the cluster; `mode="immediate"` is a crash (no checkpoint: fault tests)."""
        if self.config.external_database:
            return "postgres: external (DATABASE_URL), nothing to stop"
        pid = read_pid(self.data_dir / "postmaster.pid")
        if not is_alive(pid):
            return "postgres: not running"
        self._run_as_owner(
            [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
        )
        wait_until(lambda: not is_alive(pid), 30)
        return f"postgres: stopped (pid {pid})"

    # -- setup --------------------------------------------------------------------------
    def _server_answers(self) -> bool:
        return port_answers(self.config.host, self.config.pg_port)

    def _init_once(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._hand_to_service_user(self.home)
        result = self._run_as_owner(
            [str(self._bin("initdb")), "-D", str(self.data_dir), "-U", self.config.pg_user,
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"initdb failed: {result.stderr.strip()[-400:]}")

    def _create_database_once(self) -> None:
        import psycopg

        admin_url = (
            f"postgresql://{self.config.pg_user}@{self.config.host}:{self.config.pg_port}/postgres"
        )
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.config.pg_database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.config.pg_database}"')

    def _hand_to_service_user(self, path: Path) -> None:
        """As root, the cluster's files belong to the `postgres` user (initdb refuses root)."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError as exc:
            raise StackError(
                f"running as root needs the '{SERVICE_USER}' user: apt-get install postgresql"
            ) from exc
        for p in [path, *path.rglob("*")]:
            os.chown(p, entry.pw_uid, entry.pw_gid)
        probe = subprocess.run(["runuser", "-u", SERVICE_USER, "--", "test", "-w", str(path)])
        if probe.returncode != 0:
            raise StackError(
                f"the '{SERVICE_USER}' user cannot reach {path}: put the project (or "
                "SALESPULSE_STATE_DIR) under a folder every user may traverse"
            )

    def _run_as_owner(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVICE_USER, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, cwd="/")


def find_bin_dir() -> Path | None:
    candidates = sorted(
        (Path(p) for p in _glob(BIN_GLOB) if (Path(p) / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def ensure_installed() -> None:
    """Install Debian's `postgresql` when it is missing and we may (root with apt-get)."""
    if find_bin_dir() is not None:
        return
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        raise StackError(
            "PostgreSQL server binaries not found: install them with `apt-get install postgresql`"
        )
    print("postgres: installing Debian's postgresql package (first run only) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in ([apt, "-q", "update"], [apt, "-q", "-y", "install", "postgresql"]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise StackError(f"{' '.join(argv)} failed: {result.stderr.strip()[-300:]}")
    if find_bin_dir() is None:
        raise StackError("apt-get installed postgresql but no server binaries were found")


def _glob(pattern: str) -> list[str]:
    import glob

    return glob.glob(pattern)


def redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)
