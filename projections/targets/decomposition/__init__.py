"""Goal decomposition: split a target across time and down the organisation, exactly."""

from projections.targets.decomposition.errors import DecompositionError
from projections.targets.decomposition.plan import Allocation, Plan, child_event_id, decompose
from projections.targets.decomposition.prorate import Presence
from projections.targets.decomposition.request import SplitRequest
from projections.targets.decomposition.rounding import allocate, quantum_of

__all__ = [
    "Allocation",
    "DecompositionError",
    "Plan",
    "Presence",
    "SplitRequest",
    "allocate",
    "child_event_id",
    "decompose",
    "quantum_of",
]
