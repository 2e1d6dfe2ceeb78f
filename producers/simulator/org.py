"""The organisation: a company -> departments -> teams tree sized to N reps, and its people."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random

FOREVER = 2**62  # "has not left": compares after every real epoch second

_REGIONS = (
    "North", "South", "East", "West", "Central", "Coastal", "Metro", "Lakes",
    "Highlands", "Valley", "Harbour", "Plains",
)  # fmt: skip
_SQUADS = (
    "Falcons", "Otters", "Comets", "Foxes", "Pioneers", "Orcas", "Lynx", "Rangers",
    "Hornets", "Mavericks", "Ravens", "Summit",
)  # fmt: skip
_FIRST = (
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas",
    "Kemi", "Liam", "Maya", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Arjun", "Bea", "Caleb", "Dina",
)  # fmt: skip
_LAST = (
    "Adams", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn",
    "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip
# Seniority drives both activity volume and the share of a team's target (weights, not even).
_SENIORITY = ((0.75, 0.3), (1.0, 0.45), (1.3, 0.25))  # (level, share of the floor)


@dataclass(eq=False)
class Unit:
    unit_id: str
    name: str
    kind: str  # company, department, team
    parent_id: str | None
    territory: float = 1.0  # market potential of the territory, a target weight


@dataclass(eq=False)
class Rep:
    rep_id: str
    name: str
    unit_id: str  # the team at joining
    seniority: float
    joined_ts: int
    accounts: list[str]
    key_accounts: int  # the first `key_accounts` of `accounts` are key accounts
    left_ts: int = FOREVER
    moves: list[tuple[int, str]] = field(default_factory=list)  # (effective ts, new team)

    def unit_at(self, ts: int) -> str:
        unit = self.unit_id
        for when, to in self.moves:
            if when <= ts:
                unit = to
        return unit

    def active_at(self, ts: int) -> bool:
        return self.joined_ts <= ts < self.left_ts


@dataclass(eq=False)
class Org:
    company: Unit
    departments: list[Unit]
    teams: list[Unit]
    reps: list[Rep]  # everyone who ever works here, in joining order
    next_account: int = 1
    members: dict[str, list[Rep]] = field(default_factory=dict)  # team -> reps ever in it

    @property
    def units(self) -> list[Unit]:
        """Parents before children: the company, the departments, then the teams."""
        return [self.company, *self.departments, *self.teams]

    def children(self, unit_id: str) -> list[Unit]:
        return [u for u in (*self.departments, *self.teams) if u.parent_id == unit_id]

    def roster(self, ts: int) -> dict[str, list[Rep]]:
        """Team -> active reps at `ts`, in rep order (the order targets are split in)."""
        result: dict[str, list[Rep]] = {t.unit_id: [] for t in self.teams}
        for rep in self.reps:
            if rep.active_at(ts):
                result[rep.unit_at(ts)].append(rep)
        return result

    def new_accounts(self, rng: Random) -> tuple[list[str], int]:
        n = rng.randint(30, 70)
        first = self.next_account
        self.next_account += n
        # Roughly one account in eight is a key account (large, visited by plan).
        return [f"a-{i:05d}" for i in range(first, first + n)], max(1, round(n * 0.12))

    def new_rep(self, rng: Random, index: int, width: int, team: str, ts: int, level: float) -> Rep:
        accounts, key = self.new_accounts(rng)
        rep = Rep(
            rep_id=f"r-{index:0{width}d}",
            name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            unit_id=team,
            seniority=round(level * rng.uniform(0.9, 1.1), 3),
            joined_ts=ts,
            accounts=accounts,
            key_accounts=key,
        )
        self.reps.append(rep)
        self.members.setdefault(team, []).append(rep)
        return rep

    def colleague(self, rng: Random, rep: Rep, ts: int) -> Rep | None:
        """Someone active at `ts` other than `rep`, usually a team-mate (for cheers)."""
        team = self.members.get(rep.unit_at(ts), [])
        for attempt in range(8):
            pool = team if attempt < 4 and rng.random() < 0.6 else self.reps
            other = pool[int(rng.random() * len(pool))]
            if other is not rep and other.active_at(ts):
                return other
        return None


def _split(n: int, parts: int) -> list[int]:
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _level(rng: Random) -> float:
    levels, shares = zip(*_SENIORITY, strict=True)
    return rng.choices(levels, shares)[0]


def build_org(rng: Random, n_reps: int, start_ts: int, total_reps: int) -> Org:
    """~6-10 reps per team, 2-4 teams per department; team sizes and weights vary a little."""
    n_teams = max(1, round(n_reps / 8))
    n_depts = max(1, math.ceil(n_teams / 3)) if n_teams > 1 else 1
    company = Unit("co", "SalesPulse Demo Co", "company", None)
    departments: list[Unit] = []
    teams: list[Unit] = []
    for d, team_count in enumerate(_split(n_teams, n_depts), start=1):
        region = _REGIONS[(d - 1) % len(_REGIONS)] + ("" if d <= len(_REGIONS) else f" {d}")
        dept = Unit(f"d{d:02d}", f"{region} Region", "department", "co", rng.uniform(0.8, 1.25))
        departments.append(dept)
        for _ in range(team_count):
            t = len(teams) + 1
            squad = _SQUADS[(t - 1) % len(_SQUADS)]
            name = f"{region} {squad}"
            teams.append(Unit(f"t{t:02d}", name, "team", dept.unit_id, rng.uniform(0.85, 1.2)))
    sizes = _split(n_reps, n_teams)
    for _ in range(n_teams):  # uneven but within 6..10 where the headcount allows
        a, b = rng.randrange(n_teams), rng.randrange(n_teams)
        if sizes[a] > 6 and sizes[b] < 10 and a != b:
            sizes[a] -= 1
            sizes[b] += 1
    org = Org(company, departments, teams, [])
    width = max(3, len(str(total_reps)))
    for team, size in zip(teams, sizes, strict=True):
        for _ in range(size):
            org.new_rep(rng, len(org.reps) + 1, width, team.unit_id, start_ts, _level(rng))
    return org
