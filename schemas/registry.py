"""The schema registry: every `schemas/avro/<Type>.v<N>.avsc`, parsed once, by fingerprint and type.

The folder is the registry (DESIGN.md, "Avro on the wire"): a record names its writer schema by
the CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form, and a reader resolves that
writer schema against the latest version of the same type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

AVRO_DIR = Path(__file__).parent / "avro"
NAMESPACE = "salespulse.events"
# Avro single-object encoding: a two-byte marker, then the 8-byte little-endian fingerprint.
MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8

_FILE_NAME = re.compile(r"^(?P<type>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")


class RegistryError(ValueError):
    """The schema folder is inconsistent (bad file name, name mismatch, gap in versions)."""


@dataclass(frozen=True, eq=False)
class SchemaVersion:
    """One published schema: a type at a version, with its parsed form and fingerprint."""

    type: str
    version: int
    path: Path
    schema: dict[str, Any]  # as written in the file
    parsed: dict[str, Any]  # fastavro's parsed form, reused on every call
    fingerprint: bytes  # 8 bytes, little-endian, as on the wire
    header: bytes  # MARKER + fingerprint: the first HEADER_SIZE bytes of every record

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}.{self.type}"

    def __repr__(self) -> str:
        return f"<SchemaVersion {self.type} v{self.version} {self.fingerprint.hex()}>"


def schema_fingerprint(schema: str | list[Any] | dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the Parsing Canonical Form, little-endian as in the single-object header."""
    # fastavro returns the Rabin fingerprint's bytes little-endian first, in hex (as Java does).
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def load_version(path: Path) -> SchemaVersion:
    """Parse one `.avsc` file and check that its name agrees with its file name."""
    m = _FILE_NAME.match(path.name)
    if m is None:
        raise RegistryError(f"{path.name}: schema files are named <Type>.v<N>.avsc")
    schema = json.loads(path.read_text(encoding="utf-8"))
    type_, version = m["type"], int(m["version"])
    full_name = f"{schema.get('namespace', '')}.{schema.get('name', '')}"
    if full_name != f"{NAMESPACE}.{type_}":
        raise RegistryError(f"{path.name}: record is named {full_name!r}, expected {type_!r}")
    fp = schema_fingerprint(schema)
    # A fresh named-types dict per file: every file is self-contained and versions of one type
    # reuse the same names (VisitType, VisitCompletedData), which must not collide.
    parsed = cast(dict[str, Any], parse_schema(schema, named_schemas={}))
    return SchemaVersion(type_, version, path, schema, parsed, fp, MARKER + fp)


@dataclass(frozen=True)
class Registry:
    """All schema versions, looked up by wire fingerprint or by event type."""

    by_fingerprint: Mapping[bytes, SchemaVersion]
    by_type: Mapping[str, tuple[SchemaVersion, ...]]  # versions in order, oldest first

    def latest(self, type_: str) -> SchemaVersion:
        return self.by_type[type_][-1]

    def versions(self) -> list[SchemaVersion]:
        return [v for versions in self.by_type.values() for v in versions]


def load_registry(folder: Path = AVRO_DIR) -> Registry:
    """Read every schema in `folder`; a type's versions run 1..N, with distinct fingerprints."""
    by_type: dict[str, list[SchemaVersion]] = {}
    by_fingerprint: dict[bytes, SchemaVersion] = {}
    for path in sorted(folder.glob("*.avsc")):
        sv = load_version(path)
        if sv.fingerprint in by_fingerprint:
            other = by_fingerprint[sv.fingerprint]
            raise RegistryError(f"{path.name} has the same fingerprint as {other.path.name}")
        by_fingerprint[sv.fingerprint] = sv
        by_type.setdefault(sv.type, []).append(sv)
    ordered: dict[str, tuple[SchemaVersion, ...]] = {}
    for type_, versions in sorted(by_type.items()):
        versions.sort(key=lambda v: v.version)
        if [v.version for v in versions] != list(range(1, len(versions) + 1)):
            found = [v.version for v in versions]
            raise RegistryError(f"{type_}: versions must run 1..N without gaps, found {found}")
        ordered[type_] = tuple(versions)
    return Registry(by_fingerprint, ordered)


@cache
def default_registry() -> Registry:
    """The registry of the packaged `schemas/avro` folder, loaded on first use."""
    return load_registry()
