"""Bearer tokens with roles (from SALESPULSE_AUTH_FILE) and who may see which scope.

admin: everything. manager of a unit: that unit's subtree in detail. rep: their own detail,
plus everyone's leaderboard positions and broadcasts. producer: ingest only. Without an auth
file the API runs in open local mode: every caller is an admin, and the server binds to
loopback only (see commands/api.py).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, get_args

from projections.model.readmodel import Rep, Unit
from projections.model.scopes import scope_reps, subtree
from schemas.periods import Scope

Role = Literal["admin", "manager", "rep", "producer"]
ROLES: tuple[str, ...] = get_args(Role)
READERS: tuple[Role, ...] = ("admin", "manager", "rep")
INGESTERS: tuple[Role, ...] = ("admin", "producer")
# Shorter tokens are guessable; 16 characters is the floor we accept in the file.
MIN_TOKEN_LENGTH = 16


class AuthFileError(ValueError):
    """An auth file we cannot use; the message names the entry and the field."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and, by role, the unit managed or the rep's own id."""

    role: Role
    name: str
    unit: str | None = None
    rep_id: str | None = None
    open_mode: bool = False


OPEN_MODE = Principal("admin", "open local mode", open_mode=True)


def _digest(token: str) -> bytes:
    # Look tokens up by hash: a dict probe on the digest reveals nothing about a token's prefix.
    return hashlib.sha256(token.encode()).digest()


class TokenBook:
    """The tokens of an auth file, looked up by SHA-256 digest."""

    def __init__(self, principals: Mapping[bytes, Principal]) -> None:
        self._by_digest = dict(principals)

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> Principal | None:
        return self._by_digest.get(_digest(token))

    @classmethod
    def load(cls, path: str | Path) -> TokenBook:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthFileError(f"{p}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_toml(text, str(p))

    @classmethod
    def from_toml(cls, text: str, origin: str = "<auth file>") -> TokenBook:
        """Parse `[[tokens]] token, role, unit (manager), rep_id (rep), name (optional)`."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise AuthFileError(f"{origin}: not valid TOML: {exc}") from exc
        entries = doc.get("tokens")
        if not isinstance(entries, list) or not entries:
            raise AuthFileError(f"{origin}: expected at least one [[tokens]] entry")
        book: dict[bytes, Principal] = {}
        for i, entry in enumerate(entries):
            where = f"{origin}: tokens[{i}]"
            principal, token = _entry(entry, where, i)
            if _digest(token) in book:
                raise AuthFileError(f"{where}: token: the same token is listed twice")
            book[_digest(token)] = principal
        return cls(book)


def _entry(entry: object, where: str, index: int) -> tuple[Principal, str]:
    if not isinstance(entry, dict):
        raise AuthFileError(f"{where}: must be a table")
    unknown = set(entry) - {"token", "role", "unit", "rep_id", "name"}
    if unknown:
        raise AuthFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    token, role = entry.get("token"), entry.get("role")
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
        raise AuthFileError(f"{where}: token: must be a string of {MIN_TOKEN_LENGTH}+ characters")
    if role not in ROLES:
        raise AuthFileError(f"{where}: role: {role!r} is not one of {', '.join(ROLES)}")
    unit, rep_id = entry.get("unit"), entry.get("rep_id")
    for key, value in (("unit", unit), ("rep_id", rep_id)):
        if value is not None and (not isinstance(value, str) or not value):
            raise AuthFileError(f"{where}: {key}: must be a non-empty string")
    if role == "manager" and unit is None:
        raise AuthFileError(f"{where}: unit: a manager token names the unit it manages")
    if role == "rep" and rep_id is None:
        raise AuthFileError(f"{where}: rep_id: a rep token names the rep")
    if role in ("admin", "producer", "rep") and unit is not None:
        raise AuthFileError(f"{where}: unit: only a manager token has a unit")
    name = entry.get("name") or f"{role} {unit or rep_id or f'#{index}'}"
    return Principal(role, str(name), unit, rep_id), token


def detail_allowed(
    who: Principal,
    scope: Scope,
    units: Mapping[str, Unit],
    reps: Mapping[str, Rep],
    start: date,
    end: date,
) -> bool:
    """May `who` see goals, funnel, behaviour, plan, targets or daily reports of `scope`?

    A manager sees the managed unit, every unit below it, and every rep who belonged to one of
    them on some day in [start, end) (a rep transferred out stays visible for those days).
    """
    if who.role == "admin":
        return True
    if who.role == "rep":
        return scope.kind == "rep" and scope.id == who.rep_id
    if who.role != "manager" or who.unit is None or scope.kind == "company":
        return False
    if scope.kind == "unit":
        return scope.id in subtree(units, who.unit)
    members = scope_reps(Scope("unit", who.unit), units, reps, start, end) or []
    return scope.id in members


def default_scope(who: Principal) -> str:
    """The scope a caller means when they name none: their own."""
    if who.role == "rep" and who.rep_id:
        return f"rep:{who.rep_id}"
    if who.role == "manager" and who.unit:
        return f"unit:{who.unit}"
    return "company"
