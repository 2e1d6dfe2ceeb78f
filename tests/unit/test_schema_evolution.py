"""The schema folder as a contract: mirrors the pydantic models, only ever evolves compatibly."""

from __future__ import annotations

import io
import json
import random
import shutil
import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.utils import generate_many
from pydantic import AwareDatetime, BaseModel

from schemas.codec import decode
from schemas.events import DEFAULT_STAGES, EVENT_CLASSES, EVENT_TYPES
from schemas.registry import (
    AVRO_DIR,
    NAMESPACE,
    RegistryError,
    SchemaVersion,
    default_registry,
    load_registry,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"

# Every schema ever published, by fingerprint. A published schema is never edited (a record
# written with it may sit in the log forever); a change is a new <Type>.v<N+1>.avsc, added here.
PUBLISHED = {
    "CallLogged.v1": "5cb3ccc33038d9cc",
    "Cheered.v1": "a0949607953c098e",
    "CreditAssigned.v1": "98a73fc23a4985b4",
    "LeadCreated.v1": "fec6a8a507c96a6c",
    "LeadQualified.v1": "2a4870eab81edc04",
    "OpportunityCreated.v1": "342b7f099067eb74",
    "OpportunityLost.v1": "53a321cbba85314e",
    "OpportunityReopened.v1": "d8b61d4c3335618f",
    "OpportunityStageChanged.v1": "bab9a227b324c419",
    "OpportunityWon.v1": "e53a7d834f47dfc6",
    "OrderAmended.v1": "0aa930f5eb9fbeb6",
    "OrderCancelled.v1": "bf8f93f5449f4e36",
    "OrderSigned.v1": "135613ce5307ff91",
    "PaymentReceived.v1": "de003c83c46154c0",
    "PaymentReversed.v1": "2355edacbecb1551",
    "RepJoined.v1": "89f39c09acdebf4f",
    "RepLeft.v1": "c50a42583e148ea6",
    "RepTransferred.v1": "05b7e6b313098fad",
    "TargetSet.v1": "84796452923eb07f",
    "TargetSet.v2": "37eb1e583292f6b4",
    "TargetsLocked.v1": "0ecd0074e1f19e47",
    "TargetsLocked.v2": "2051d3110c76768c",
    "UnitDefined.v1": "946d83abe23986fd",
    "VisitCompleted.v1": "8415121e21801d50",
    "VisitCompleted.v2": "c221a91586ec1ca2",
}

# Envelope fields that exist only on the wire: the offset kept beside the UTC instant, and the
# writer's schema version. `type` exists only in pydantic: the record's name carries it.
WIRE_ONLY = {"occurred_at_offset_min", "schema_version"}
MODEL_ONLY = {"type"}

# Pipeline stages are configuration (DESIGN.md), so they travel as strings even though the
# default model narrows them to the default stages.
STAGE_FIELDS = {
    ("OpportunityCreated", "stage"),
    ("OpportunityStageChanged", "to_stage"),
    ("OpportunityReopened", "to_stage"),
}

REGISTRY = default_registry()
ALL_VERSIONS = REGISTRY.versions()
UPGRADES = [
    pytest.param(old, new, id=f"{old.type}.v{old.version}->v{new.version}")
    for versions in REGISTRY.by_type.values()
    for i, old in enumerate(versions)
    for new in versions[i + 1 :]
]


def _fields(record_schema: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f for f in record_schema["fields"]}


# ---------------------------------------------------------------------------------------------
# Kinds: a small common language for "what type is this field" on both sides.


def _avro_kind(avro_type: Any) -> tuple[Any, ...]:
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        assert avro_type[0] == "null" and len(branches) == 1, f"unexpected union {avro_type}"
        return ("optional", _avro_kind(branches[0]))
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        if logical == "decimal":
            return ("decimal", avro_type["type"], avro_type["precision"], avro_type["scale"])
        if logical is not None:
            return (logical,)
        if avro_type["type"] == "enum":
            return ("enum", frozenset(avro_type["symbols"]))
        if avro_type["type"] == "array":
            return ("array", _avro_kind(avro_type["items"]))
        if avro_type["type"] == "record":
            return (
                "record",
                tuple(sorted((f["name"], _avro_kind(f["type"])) for f in avro_type["fields"])),
            )
        return (avro_type["type"],)
    return (avro_type,)


def _model_kind(annotation: Any) -> tuple[Any, ...]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        assert len(inner) == 1 and len(args) == 2, f"unexpected union {annotation}"
        return ("optional", _model_kind(inner[0]))
    if origin is typing.Annotated:
        return _model_kind(args[0])
    if origin is typing.Literal:
        return ("enum", frozenset(args))
    if origin is tuple:  # tuple[Model, ...]: an Avro array of records
        return ("array", _model_kind(args[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields.items()
        return ("record", tuple(sorted((n, _model_kind(f.annotation)) for n, f in fields)))
    simple = {
        str: ("string",),
        bool: ("boolean",),
        int: ("long",),
        Decimal: ("decimal", "bytes", 20, 4),
        date: ("date",),
        UUID: ("uuid",),
        AwareDatetime: ("timestamp-micros",),
        datetime: ("timestamp-micros",),
    }
    return simple[annotation]


# ---------------------------------------------------------------------------------------------
# The folder


def test_every_event_type_has_a_schema_and_every_schema_an_event_type() -> None:
    assert set(REGISTRY.by_type) == set(EVENT_TYPES)


def test_published_schemas_are_never_edited_and_every_schema_is_pinned() -> None:
    found = {f"{sv.type}.v{sv.version}": sv.fingerprint.hex() for sv in ALL_VERSIONS}
    # A failure here means: a published schema changed (write a new version instead), or a
    # new version was added without pinning it in PUBLISHED.
    assert found == PUBLISHED


@pytest.mark.parametrize("sv", ALL_VERSIONS, ids=repr)
def test_every_schema_is_self_contained_and_named_after_its_file(sv: SchemaVersion) -> None:
    assert sv.full_name == f"{NAMESPACE}.{sv.type}"
    assert sv.path.name == f"{sv.type}.v{sv.version}.avsc"
    # Self-contained: it parses alone, knowing no named types from any other file.
    parse_schema(json.loads(sv.path.read_text()), named_schemas={})
    assert _fields(sv.schema)["schema_version"]["type"] == "int"


def test_a_gap_in_versions_is_refused(tmp_path: Path) -> None:
    shutil.copy(AVRO_DIR / "VisitCompleted.v2.avsc", tmp_path / "VisitCompleted.v2.avsc")
    with pytest.raises(RegistryError, match=r"1\.\.N"):
        load_registry(tmp_path)


def test_a_schema_named_unlike_its_file_is_refused(tmp_path: Path) -> None:
    shutil.copy(AVRO_DIR / "Cheered.v1.avsc", tmp_path / "RepLeft.v1.avsc")
    with pytest.raises(RegistryError, match="expected 'RepLeft'"):
        load_registry(tmp_path)


def test_a_copied_version_with_the_same_fingerprint_is_refused(tmp_path: Path) -> None:
    schema = json.loads((AVRO_DIR / "Cheered.v1.avsc").read_text())
    schema["doc"] = "only the doc changed"  # docs are not part of the canonical form
    (tmp_path / "Cheered.v1.avsc").write_text((AVRO_DIR / "Cheered.v1.avsc").read_text())
    (tmp_path / "Cheered.v2.avsc").write_text(json.dumps(schema))
    with pytest.raises(RegistryError, match="same fingerprint"):
        load_registry(tmp_path)


# ---------------------------------------------------------------------------------------------
# Avro mirrors pydantic


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_latest_schema_and_model_have_the_same_envelope(type_: str) -> None:
    avro = _fields(REGISTRY.latest(type_).schema)
    model = EVENT_CLASSES[type_].model_fields

    assert set(avro) - WIRE_ONLY == set(model) - MODEL_ONLY

    for name in set(model) - MODEL_ONLY - {"data", "rep_id"}:
        assert _avro_kind(avro[name]["type"]) == _model_kind(model[name].annotation), name
    # rep_id is nullable on the wire for every type; the model requires it where it must.
    assert _avro_kind(avro["rep_id"]["type"]) == ("optional", ("string",))


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_latest_schema_and_model_have_the_same_data_fields_and_kinds(type_: str) -> None:
    avro = _fields(_fields(REGISTRY.latest(type_).schema)["data"]["type"])
    data_model = EVENT_CLASSES[type_].model_fields["data"].annotation
    assert isinstance(data_model, type) and issubclass(data_model, BaseModel)
    model = data_model.model_fields

    assert set(avro) == set(model)  # order is free: Avro resolves fields by name

    for name, field in model.items():
        expected = _model_kind(field.annotation)
        if (type_, name) in STAGE_FIELDS:
            assert expected == ("enum", frozenset(s for s, _ in DEFAULT_STAGES))
            expected = ("string",)
        assert _avro_kind(avro[name]["type"]) == expected, name
        # A default in the model <=> the same default on the wire (what lets old records
        # read): null for optional fields, e.g. false for TargetSet.override.
        if not field.is_required():
            assert avro[name].get("default", "absent") == field.default, name


# ---------------------------------------------------------------------------------------------
# Backward compatibility: every newer version reads every older one


@pytest.mark.parametrize(("old", "new"), UPGRADES)
def test_newer_schema_reads_records_written_with_an_older_one(
    old: SchemaVersion, new: SchemaVersion
) -> None:
    # generate_many draws from the global `random`: seed it for a repeatable sample, and put
    # the state back so no other test inherits it.
    state = random.getstate()
    random.seed(f"{old.type}{old.version}{new.version}")
    try:
        samples = list(generate_many(old.schema, 200))
    finally:
        random.setstate(state)
    for sample in samples:
        out = io.BytesIO()
        schemaless_writer(out, old.parsed, sample)
        out.seek(0)
        written = cast(dict[str, Any], schemaless_reader(io.BytesIO(out.getvalue()), old.parsed))

        read = cast(dict[str, Any], schemaless_reader(out, old.parsed, new.parsed))

        old_data = _fields(_fields(old.schema)["data"]["type"])
        for name, field in _fields(_fields(new.schema)["data"]["type"]).items():
            if name in old_data:
                assert read["data"][name] == written["data"][name], name
            else:
                assert read["data"][name] == field["default"], name
        assert {k: v for k, v in read.items() if k != "data"} == {
            k: v for k, v in written.items() if k != "data"
        }


def test_every_type_with_several_versions_is_covered_by_an_upgrade_check() -> None:
    upgraded = {p.values[0].type for p in UPGRADES}  # type: ignore[union-attr]
    assert upgraded == {t for t, vs in REGISTRY.by_type.items() if len(vs) > 1}
    assert {"VisitCompleted", "TargetSet", "TargetsLocked"} <= upgraded


# ---------------------------------------------------------------------------------------------
# The committed v1 record


def test_committed_v1_fixture_is_a_v1_record() -> None:
    blob = (FIXTURES / "visit_completed_v1.bin").read_bytes()
    v1 = REGISTRY.by_type["VisitCompleted"][0]

    assert blob[:10] == v1.header


def test_committed_v1_fixture_decodes_with_the_latest_reader() -> None:
    blob = (FIXTURES / "visit_completed_v1.bin").read_bytes()

    event = decode(blob)

    assert event.type == "VisitCompleted"
    assert event.event_id == UUID("0f8e1c52-6c1e-4f59-9c59-2b1f0d9a7b11")
    assert event.occurred_at.isoformat() == "2026-11-03T09:30:00+08:00"
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert event.recorded_at == datetime(2026, 11, 3, 1, 30, 5, 250000, tzinfo=UTC)
    assert event.rep_id == "r-017"
    assert event.source == "fixture"
    assert event.data.model_dump() == {
        "visit_id": "v-1",
        "account_id": "a-9",
        "visit_type": "planned",
        "duration_min": 40,
        "face_to_face": True,
        "key_account": False,
        "opportunity_id": None,  # added in v2: the reader's default fills it
    }


def test_fixture_offset_survives_as_a_fixed_offset_zone() -> None:
    event = decode((FIXTURES / "visit_completed_v1.bin").read_bytes())
    assert event.occurred_at.tzinfo == timezone(timedelta(hours=8))
