"""The shared state of one simulation run: the RNG, the clock, the outbox, the org, id counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from producers.simulator.org import Org
from producers.simulator.outbox import Outbox
from producers.simulator.rhythm import Clock


@dataclass(eq=False)
class Sim:
    rng: Random
    clock: Clock
    out: Outbox
    org: Org
    base_currency: str = "USD"
    currencies: tuple[str, ...] = ()
    foreign_share: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)
    # Corrections draw from their own generator: without them the history is the same.
    fixes: Random = field(default_factory=lambda: Random(0))

    def next_id(self, prefix: str) -> str:
        """Sequential business ids (`c-1`, `v-1`, `o-1`, ...): unique and readable in logs."""
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}-{n}"

    def currency(self) -> str:
        if self.currencies and self.rng.random() < self.foreign_share:
            return self.rng.choice(self.currencies)
        return self.base_currency
