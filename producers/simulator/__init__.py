"""The org simulator: a deterministic, realistic sales-organisation history as domain events."""

from producers.simulator.config import DEFAULT_START, SimConfig
from producers.simulator.history import iter_emitted, iter_events, iter_lines

__all__ = ["DEFAULT_START", "SimConfig", "iter_emitted", "iter_events", "iter_lines"]
