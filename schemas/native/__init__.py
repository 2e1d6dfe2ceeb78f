"""The C reader of the log's activity-only records (scan.c), when it was compiled.

`pip install` compiles `schemas.native._scan` when a C compiler and the Python headers are
present (setup.py: an optional extension); without them the install still succeeds and the
bulk build decodes every record in Python (schemas.trusted), the same values more slowly.
`SALESPULSE_NATIVE=0` turns the C reader off where it is compiled (to compare, or to rule it
out). `Scanner` holds, per writer fingerprint of the types it reads, the program scan.c runs:
one op per Avro field in the writer's order, ending in the latest version's shape.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from schemas.codec import envelope_physical
from schemas.registry import SchemaVersion, default_registry

try:
    from schemas.native import _scan  # type: ignore[attr-defined]
except ImportError:  # not compiled (no compiler at install time): the Python path
    _scan = None

__all__ = ["DATA_AT", "Scanner", "available", "scanner"]

# A scanned row: type index, record index, event id (int), occurred_at (µs), its offset
# (minutes), rep_id, then the data fields of the type's latest version in order.
DATA_AT = 6
ENVELOPE_OPS = {
    "event_id": "U",
    "occurred_at": "T",
    "occurred_at_offset_min": "O",
    "rep_id": "N",
    "recorded_at": "m",
    "source": "n",
    "schema_version": "i",
}
Program = tuple[int, bytes, tuple[tuple[str, ...], ...]]


def available() -> bool:
    """Whether the C reader is compiled and not turned off."""
    return _scan is not None and os.environ.get("SALESPULSE_NATIVE", "1") != "0"


@dataclass(frozen=True)
class Scanner:
    """scan.c for `types`: rows of their records, indices of the rest (`scan`)."""

    types: tuple[str, ...]  # a row's type index is its place here
    fields: dict[str, tuple[str, ...]]  # per type: the data fields of its latest version
    programs: dict[bytes, Program]

    def scan(self, values: list[bytes | None]) -> tuple[list[tuple[Any, ...]], list[int]]:
        assert _scan is not None
        rows, others = _scan.scan(values, self.programs)
        return rows, others


def scanner(types: Iterable[str]) -> Scanner | None:
    """A Scanner of those of `types` scan.c can read, or None (not compiled, turned off, or
    none of them readable)."""
    if not available():
        return None
    made = _scanner(frozenset(types))
    return made if made.types else None


@cache
def _scanner(types: frozenset[str]) -> Scanner:
    registry = default_registry()
    readable = sorted(t for t in types if t in registry.by_type and _readable(registry, t))
    fields = {t: tuple(f["name"] for f in _data_fields(registry.latest(t))) for t in readable}
    programs = {
        fp: _program(readable.index(sv.type), sv, fields[sv.type])
        for fp, sv in registry.by_fingerprint.items()
        if sv.type in fields
    }
    return Scanner(tuple(readable), fields, programs)


def _readable(registry: Any, type_: str) -> bool:
    """Every version of the type has only fields scan.c reads, each a prefix of the latest."""
    latest = [f["name"] for f in _data_fields(registry.latest(type_))]
    for sv in registry.by_type[type_]:
        written = _data_fields(sv)
        if [f["name"] for f in written] != latest[: len(written)]:
            return False
        if any(_field_op(f["type"]) is None for f in written):
            return False
        if sv.schema["fields"][-1]["name"] != "data":  # the data fields end the row
            return False
        envelope = [f["name"] for f in _envelope_fields(sv)]
        if any(name not in ENVELOPE_OPS for name in envelope):
            return False
        kept = [ENVELOPE_OPS[name] for name in envelope if ENVELOPE_OPS[name].isupper()]
        if kept != ["U", "T", "O", "N"]:  # the row's envelope part (DATA_AT)
            return False
    return True


def _program(type_index: int, sv: SchemaVersion, latest: tuple[str, ...]) -> Program:
    ops = [ENVELOPE_OPS[f["name"]] for f in _envelope_fields(sv)]
    enums = []
    written = _data_fields(sv)
    for f in written:
        op = _field_op(f["type"])
        assert op is not None
        ops.append(op[0])
        if op[1] is not None:
            enums.append(op[1])
    ops += "0" * (len(latest) - len(written))  # added later, null by default
    return (type_index, "".join(ops).encode(), tuple(enums))


def _field_op(avro: Any) -> tuple[str, tuple[str, ...] | None] | None:
    if avro == "string":
        return "S", None
    if avro == "long":
        return "L", None
    if avro == "int":
        return "I", None
    if avro == "boolean":
        return "B", None
    if isinstance(avro, dict) and avro.get("type") == "enum":
        return "E", tuple(sys.intern(s) for s in avro["symbols"])
    if avro == ["null", "string"]:
        return "N", None
    if avro == ["null", "long"]:
        return "M", None
    return None  # anything else (doubles, arrays, records, logical types): not read here


def _envelope_fields(sv: SchemaVersion) -> list[dict[str, Any]]:
    return [f for f in envelope_physical(sv)["fields"] if f["name"] != "data"]


def _data_fields(sv: SchemaVersion) -> list[dict[str, Any]]:
    data = next(f for f in sv.schema["fields"] if f["name"] == "data")
    return list(data["type"]["fields"])
