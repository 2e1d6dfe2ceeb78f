"""Simulation settings: the size of the organisation, the time span, the seed and the org tz."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

DEFAULT_START = date(2026, 1, 1)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Everything else is drawn from `random.Random(seed)`."""

    reps: int
    days: int
    seed: int
    start: date = DEFAULT_START
    tz: str = "UTC"
    base_currency: str = "USD"
    # Foreign currencies some deals are written in; only ones with a configured rate belong
    # here, since the ingest rejects amounts in a currency it cannot convert.
    currencies: tuple[str, ...] = field(default_factory=tuple)
    foreign_share: float = 0.15  # share of deals in a foreign currency when any are given

    def __post_init__(self) -> None:
        if self.reps < 1:
            raise ValueError("reps must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        ZoneInfo(self.tz)  # fail early on an unknown zone name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)
