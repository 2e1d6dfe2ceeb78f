"""The C reader of Kafka record batches (batches.c), when it was compiled.

`pip install` compiles `streams.native._batches` with the other optional extension (setup.py);
without it, or with `SALESPULSE_NATIVE=0`, streams.record_set reads every batch with aiokafka.
"""

from __future__ import annotations

import os
from typing import Any

try:
    from streams.native import _batches  # type: ignore[attr-defined]
except ImportError:  # not compiled: aiokafka's parser reads every batch
    _batches = None


def batches() -> Any | None:
    """The compiled module, or None (not compiled, or turned off)."""
    return _batches if os.environ.get("SALESPULSE_NATIVE", "1") != "0" else None
