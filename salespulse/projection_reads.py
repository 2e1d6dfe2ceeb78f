"""The commands' read access to the projections: the active version, as the API reads it.

Commands that decide on what the projections say (target locks for `produce`, the org tree,
earlier splits and locks for `targets split`) read the version readers see, the active one
in the registry `<prefix>.projection_versions`, not a version of their own choosing: after a
replay switch the locks and targets are those of the new version. Nothing is created or
migrated here; before any worker ran there is simply nothing to read (None). Also the CLI's
side of the target rules: who is acting (`set_by`) and the lock guard over these reads.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg

from infra.settings import Settings
from projections.model.kpi import parse_kpis
from projections.model.readmodel import ReadModel
from projections.postgres.reads import PostgresReadModel
from projections.postgres.registry import active_version
from projections.queries.view import ReadView
from projections.targets.locks import LockBook, TargetGuard

# A command waiting on an unreachable database should fail in seconds, not minutes.
CONNECT_TIMEOUT_S = 5


class ProjectionsUnavailable(RuntimeError):
    """PostgreSQL could not be reached or read; the message says why."""


@contextmanager
def active_view(settings: Settings) -> Iterator[ReadView | None]:
    """The active version's read model and KPI definitions, or None when none is active yet."""
    try:
        conn = psycopg.connect(
            settings.database_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.Error as exc:
        raise ProjectionsUnavailable(f"cannot reach PostgreSQL: {exc}".strip()) from exc
    with conn:
        try:
            info = active_version(conn, settings.schema_prefix)
        except psycopg.errors.UndefinedTable:
            info = None  # no registry yet: no worker has run against this database
        except psycopg.Error as exc:
            raise ProjectionsUnavailable(f"cannot read the projections: {exc}") from exc
        if info is None:
            yield None
            return
        kpis = parse_kpis(info.kpis_toml, origin=f"projection version {info.version}")
        # A command is one short read: the org it sees is read once.
        yield ReadView(PostgresReadModel(conn, info.schema_name, org_once=True), kpis)


class LazyProjections:
    """The active read model, opened on first use and closed with `close()`.

    So that a command whose input needs no projections (a preview with explicit children,
    a file without targets) needs no database either.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = ExitStack()
        self._opened = False
        self._view: ReadView | None = None

    def __call__(self) -> ReadModel | None:
        """The active read model (None: no version active yet)."""
        view = self.view()
        return None if view is None else view.model

    def view(self) -> ReadView | None:
        """The active read model with its KPI definitions (None: no version active yet)."""
        if not self._opened:
            self._view = self._stack.enter_context(active_view(self.settings))
            self._opened = True
        return self._view

    def close(self) -> None:
        self._stack.close()


# How the CLI's refusals tell an operator what to do (the HTTP API says ?override_locks=true).
CLI_OVERRIDE_HINT = "an admin may publish it anyway with --override-locks"


def cli_user() -> str:
    """Who is acting at the command line, for `set_by`: `cli:<login name>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment nor the passwd database
        return "cli"


def cli_guard(projections: LazyProjections, *, set_by: str, override: bool) -> TargetGuard:
    """The target guard of a command, reading locks from the active projection version."""

    def load() -> LockBook:
        read_model = projections()
        return LockBook.of(read_model) if read_model is not None else LockBook()

    # Whoever runs the CLI can write to the log directly: --override-locks is the explicit
    # admin act, so the command may override.
    return TargetGuard(load, set_by=set_by, override=override, hint=CLI_OVERRIDE_HINT)
