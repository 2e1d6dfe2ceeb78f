"""The C reader of activity records (schemas.native) and the column-wise fold of its rows
(projections.model.columns) build what the Python path builds, record for record.

The oracle is the bulk build with the reader off (`BulkBuild(..., native=False)`): every
record decoded by schemas.trusted and folded by Aggregate.fold_activity / fold_in. Both
builds read the same log — every event type, older schema versions, duplicates within and
across batches and flushes, an event id shared by a call and an order, tombstones, bytes that
are no record, NUL in a string, instants and offsets outside the reader's window, an org zone
with a daylight-saving change — under KPI files with conditions on optional fields, zero,
negative and stacked weights, a summed metric on an activity type, and a condition that raises.
"""

from __future__ import annotations

import dataclasses
import os
import random
import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.publisher import partition_key
from projections.model.context import FoldContext
from projections.model.kpi import Condition, KpiDefinitions, load_kpis, parse_kpis
from schemas import native
from schemas.codec import encode
from schemas.registry import default_registry
from schemas.trusted import decode_activity, decode_trusted
from streams.bulk_build import ACTIVITY_TYPES, BulkBuild, MiB
from tests.support.sample import random_history
from tests.support.staging import Staging
from tests.support.versions import write_as

ROOT = Path(__file__).resolve().parents[2]
EUR = {"EUR": Decimal("1.0800")}
NEW_YORK = ZoneInfo("America/New_York")  # its clocks go back on 2026-11-01
PARTITIONS = 3

if not native.available():
    # CI compiles it (`pip install -e .` with gcc and the headers): there, not having it is
    # a failure, not a skip.
    if os.environ.get("CI"):
        raise AssertionError("schemas.native._scan is not compiled; the install must build it")
    pytest.skip("the C reader is not compiled on this machine", allow_module_level=True)

COUNTS = """
version = 7
[metrics.calls]
event = "CallLogged"
measure = "count"
[metrics.talks]
event = "CallLogged"
measure = "count"
where = ['outcome = "connected"', "duration_s >= 120"]
[metrics.leads]
event = "LeadCreated"
measure = "count"
[metrics.sql]
event = "LeadQualified"
measure = "count"
where = ['level = "SQL"']
[metrics.visits]
event = "VisitCompleted"
measure = "count"
where = ["face_to_face = true", "duration_min >= 20"]
weights = [
  { where = "key_account = true", factor = 2 },
  { where = "duration_min > 45", factor = 1.5 },
]
[metrics.unlinked_visits]
event = "VisitCompleted"
measure = "count"
where = ['opportunity_id != "none-such"']
[metrics.linked_late]
event = "VisitCompleted"
measure = "count"
weights = [
  { where = "key_account = true", factor = 0 },
  { where = 'visit_type = "route"', factor = -1 },
]
[metrics.orders]
event = "OrderSigned"
measure = "sum(amount)"
"""
# A summed field on calls: calls go the record-by-record way, visits and leads the C way.
SUMMED = (
    COUNTS
    + """
[metrics.call_seconds]
event = "CallLogged"
measure = "sum(duration_s)"
"""
)


def _raising(kpis: KpiDefinitions) -> KpiDefinitions:
    """A condition no KPI file can write (parse_kpis refuses ordered text comparisons): it
    raises on every lead, so both paths must refuse every lead and count it failed."""
    leads = kpis.metrics["leads"]
    bad = dataclasses.replace(leads, where=(Condition("source", ">", Decimal(3)),))
    return dataclasses.replace(
        kpis,
        metrics={**kpis.metrics, "leads": bad},
        by_event={**kpis.by_event, "LeadCreated": (bad,)},
    )


KPIS = {
    "counts": lambda: parse_kpis(COUNTS),
    "summed": lambda: parse_kpis(SUMMED),
    "raising": lambda: _raising(parse_kpis(COUNTS)),
    "revised": lambda: load_kpis(ROOT / "examples/kpis/v2_revised.toml"),
}


def _log(seed: int) -> list[tuple[int, int, bytes | None]]:
    """(partition, offset, value) in log order: a history and everything odd listed above."""
    rnd = random.Random(seed)
    history = random_history(seed=seed, reps=10, days=60, tz=NEW_YORK, corrections=2.0)
    registry = default_registry()
    values: list[tuple[Any, bytes | None]] = [(e, encode(e)) for e in history]
    calls = [e for e in history if e.type == "CallLogged"]
    visits = [e for e in history if e.type == "VisitCompleted"]
    order = next(e for e in history if e.type == "OrderSigned")
    call = calls[len(calls) // 2]
    odd: list[tuple[Any, bytes | None]] = [
        # an order carrying a call's id, on the call's partition, before and after it
        (call, encode(order.model_copy(update={"event_id": call.event_id}))),
        (call, None),  # a tombstone
        (call, b"\xc3\x01" + b"\x00" * 8 + b"junk"),  # no record
        (call, encode(calls[1].model_copy(update={"rep_id": "r\x00x"}))),  # NUL: refused
    ]
    for visit in visits[::7]:  # older schema versions of visits
        odd.append((visit, write_as(registry.by_type["VisitCompleted"][0], visit)))
    far = datetime(2301, 1, 1, 9, tzinfo=UTC)  # outside the reader's window
    odd.append((calls[3], encode(calls[3].model_copy(update={"occurred_at": far}))))
    for minutes in (1439, -1439, 840):  # the widest offsets there are
        at = calls[5].occurred_at.astimezone(timezone(timedelta(minutes=minutes)))
        odd.append((calls[5], encode(calls[5].model_copy(update={"occurred_at": at}))))
    for event, value in odd:
        values.insert(rnd.randrange(len(values) + 1), (event, value))
    # copies: some right after the original (one batch), some far later (another batch)
    for i in rnd.sample(range(len(values)), len(values) // 12):
        values.insert(min(len(values), i + rnd.choice((1, 2, 400))), values[i])
    # a few records of each kind after the call with the shared id
    values.append((call, encode(order.model_copy(update={"event_id": call.event_id}))))
    offsets = [0] * PARTITIONS
    out = []
    for event, value in values:
        p = zlib.crc32(partition_key(event)) % PARTITIONS
        out.append((p, offsets[p], value))
        offsets[p] += 1
    return out


def _build(
    ctx: FoldContext, log: list[Any], use_native: bool, memory: int, seed: int
) -> tuple[Staging, BulkBuild]:
    """The log through BulkBuild in random batch sizes, flushed when full (build_ranges)."""
    staging, rnd = Staging(), random.Random(seed)
    build = BulkBuild(ctx, staging, MiB, native=use_native)  # type: ignore[arg-type]
    build.budget = memory  # below the build's 1 MiB floor: a flush every few hundred records
    assert (build.scanner is not None) == use_native
    i = 0
    while i < len(log):
        n = rnd.choice((1, 7, 60, 250, 700))
        build.add(log[i : i + n])
        i += n
        if build.full():
            build.flush()
    build.flush()
    return staging, build


def _tables(staging: Staging) -> list[str]:
    return [
        repr(sorted((name, sorted(t.items()) if isinstance(t, dict) else sorted(t))
                    for name, t in vars(a).items()))
        for a in staging.aggregates
    ]  # fmt: skip


@pytest.mark.parametrize("memory", [1 << 40, 200_000], ids=["one-flush", "many-flushes"])
@pytest.mark.parametrize("kpis", sorted(KPIS))
def test_the_c_reader_builds_what_the_python_path_builds(kpis: str, memory: int) -> None:
    ctx = FoldContext(KPIS[kpis](), fx_rates=EUR, tz=NEW_YORK)
    log = _log(seed=21)
    python, py_build = _build(ctx, log, use_native=False, memory=memory, seed=5)
    c, c_build = _build(ctx, log, use_native=True, memory=memory, seed=5)
    assert _tables(c) == _tables(python)
    assert sorted(c.ids) == sorted(python.ids)
    assert c_build.stats == py_build.stats
    assert py_build.stats.duplicates > 100 and py_build.stats.flushes >= 1
    if memory < 1 << 30:
        assert py_build.stats.flushes > 2, "the small budget flushes, so repeats are held back"
    if kpis == "raising":
        assert py_build.stats.failed > 0, "the raising condition refuses every lead"


def test_the_comparison_can_fail() -> None:
    # a build that loses one call differs from the oracle in the tables it stages
    ctx = FoldContext(parse_kpis(COUNTS), fx_rates=EUR, tz=NEW_YORK)
    log = _log(seed=21)
    first_call = next(
        i
        for i, (_, _, v) in enumerate(log)
        if v and (a := _activity(v)) is not None and a[1] == "CallLogged"
    )
    python, _ = _build(ctx, log, use_native=False, memory=1 << 40, seed=5)
    c, _ = _build(ctx, log[:first_call] + log[first_call + 1 :], True, 1 << 40, seed=5)
    assert _tables(c) != _tables(python)


def _activity(value: bytes) -> Any:
    try:
        return decode_activity(value, ACTIVITY_TYPES)
    except Exception:
        return None


def test_a_scanned_row_holds_the_values_decode_activity_reads() -> None:
    ctx = FoldContext(parse_kpis(COUNTS), tz=NEW_YORK)
    build = BulkBuild(ctx, Staging(), MiB)  # type: ignore[arg-type]
    scanner = build.scanner
    assert scanner is not None and set(scanner.types) == set(ACTIVITY_TYPES)
    values = [v for _, _, v in _log(seed=22)]
    rows, others = scanner.scan(values)
    read = {row[1] for row in rows}
    assert read.isdisjoint(others) and len(read) == len(rows) > len(values) // 3
    assert read | set(others) == {i for i, v in enumerate(values) if v is not None}
    for row in rows:
        n, kind, at, us, rep, data = decode_activity(values[row[1]], ACTIVITY_TYPES)  # type: ignore[misc]
        fields = scanner.fields[kind]
        assert scanner.types[row[0]] == kind
        assert row[2:6] == (n, us, at.utcoffset() // timedelta(minutes=1), rep)
        assert dict(zip(fields, row[native.DATA_AT :], strict=True)) == data._asdict()
    skipped = [values[i] for i in others]
    kinds = {type(_activity(v)).__name__ for v in skipped}
    assert "tuple" in kinds, "activities outside the window are left to the Python path"
    assert any(v[:2] != b"\xc3\x01" or _activity(v) is None for v in skipped)


def test_truncated_or_altered_bytes_are_left_to_the_python_path() -> None:
    scanner = native.scanner(ACTIVITY_TYPES)
    assert scanner is not None
    visit = next(
        e for e in random_history(seed=23, reps=2, days=3, start=date(2026, 9, 1))
        if e.type == "VisitCompleted"
    )  # fmt: skip
    blob = encode(visit)
    broken = [blob[:cut] for cut in range(10, len(blob))]
    broken += [
        blob[:i] + bytes([b]) + blob[i + 1 :] for i in range(10, len(blob)) for b in (0xFF, 0x00)
    ]
    rows, _ = scanner.scan(broken)
    for row in rows:  # what it still reads, the Python path reads the same
        value = broken[row[1]]
        n, kind, at, us, rep, data = decode_activity(value, ACTIVITY_TYPES)  # type: ignore[misc]
        assert row[2:6] == (n, us, at.utcoffset() // timedelta(minutes=1), rep)
        assert dict(zip(scanner.fields[kind], row[native.DATA_AT :], strict=True)) == data._asdict()


def test_the_event_reader_makes_the_events_decode_trusted_makes() -> None:
    # every type and version it reads, in a history with corrections; repr, so that Decimal
    # exponents and the written offsets count too
    registry = default_registry()
    reader = native.event_reader(registry.by_type)
    assert reader is not None
    assert {"OrderSigned", "OpportunityCreated", "PaymentReversed"} <= set(reader.scan.types)
    history = random_history(seed=24, corrections=4.0)
    values = [encode(e) for e in history]
    values += [write_as(registry.by_type[t][0], e) for t in ("VisitCompleted", "TargetsLocked")
               for e in history if e.type == t][:40]  # fmt: skip
    read = reader.decode(values)  # type: ignore[arg-type]
    kinds = set()
    for value, event in zip(values, read, strict=True):
        if event is None:
            continue
        kinds.add(event.type)
        trusted = decode_trusted(value)
        assert repr(event) == repr(trusted)
        assert event.occurred_at.utcoffset() == trusted.occurred_at.utcoffset()
        assert type(event.data) is type(trusted.data)
    assert kinds == set(reader.scan.types) & {e.type for e in history}
    assert "CreditAssigned" not in kinds and "TargetSet" not in kinds  # arrays; field order


def test_the_event_reader_reads_of_altered_bytes_only_what_decode_trusted_reads_alike() -> None:
    reader = native.event_reader(default_registry().by_type)
    assert reader is not None
    order = next(e for e in random_history(seed=25, reps=3, days=20) if e.type == "OrderSigned")
    blob = encode(order)
    broken = [blob[:cut] for cut in range(10, len(blob))]
    for b in (0xFF, 0x00, 0x7F, 0x01):
        broken += [blob[:i] + bytes([b]) + blob[i + 1 :] for i in range(10, len(blob))]
    read = reader.decode(broken)  # type: ignore[arg-type]
    assert any(e is not None for e in read) and any(e is None for e in read)
    for value, event in zip(broken, read, strict=True):
        if event is not None:
            assert repr(event) == repr(decode_trusted(value))
