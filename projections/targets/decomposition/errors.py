"""The one error type of target decomposition; its message says what to change in the request."""

from __future__ import annotations


class DecompositionError(ValueError):
    """A split request that cannot be carried out as asked (bad children, weights or periods)."""
