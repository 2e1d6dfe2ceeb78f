"""Goal decomposition: split a target across time and down the organisation, exactly."""

from projections.decomposition.errors import DecompositionError
from projections.decomposition.plan import Allocation, Plan, child_event_id, decompose
from projections.decomposition.prorate import Presence
from projections.decomposition.request import SplitRequest
from projections.decomposition.rounding import allocate, quantum_of

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
