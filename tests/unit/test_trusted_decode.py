"""The trusted decode path folds exactly like the validated one: same bytes, same deltas."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from projections.model.context import FoldContext
from projections.model.fold import fold
from projections.model.kpi import default_kpis, load_kpis
from schemas.codec import DecodeError, decode, encode
from schemas.events import EVENT_TYPES
from schemas.fingerprint import fingerprint
from schemas.registry import default_registry
from schemas.trusted import decode_activity, decode_trusted
from streams.batching import RawRecord, decode_batch
from tests.support.sample import random_history
from tests.support.versions import write_as

ROOT = Path(__file__).resolve().parents[2]
EUR = {"EUR": Decimal("1.0800")}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("kpis", ["v1", "v2_revised"])
def test_the_same_bytes_decoded_both_ways_fold_to_identical_deltas(kpis: str) -> None:
    definitions = (
        default_kpis() if kpis == "v1" else load_kpis(ROOT / "examples/kpis/v2_revised.toml")
    )
    ctx = FoldContext(definitions, fx_rates=EUR)
    history = random_history(seed=11, corrections=4.0)  # every kind, corrections too
    kinds = Counter(e.type for e in history)
    assert set(kinds) == set(EVENT_TYPES), "the sample covers every event type"
    for event in history:
        blob = encode(event)
        trusted, validated = decode_trusted(blob), decode(blob)
        assert trusted.type == validated.type and trusted.event_id == validated.event_id
        assert fold(trusted, ctx) == fold(validated, ctx), event.type
        assert fingerprint(trusted) == fingerprint(validated), event.type


def test_a_changed_byte_in_a_decimal_changes_the_deltas() -> None:
    # the comparison above can fail: a corrupted amount folds to different deltas
    ctx = FoldContext(default_kpis(), fx_rates=EUR)
    history = random_history(seed=11, reps=6, days=20, start=date(2026, 9, 1))
    order = next(e for e in history if e.type == "OrderSigned")
    other = order.model_copy(
        update={"data": order.data.model_copy(update={"amount": Decimal("1.0000")})}
    )
    assert fold(decode_trusted(encode(other)), ctx) != fold(decode(encode(order)), ctx)


def test_records_of_an_older_schema_version_read_the_same_both_ways() -> None:
    # the committed v1 fixture, and a v1 record of every type with several versions, written
    # from a real event with the fields the old version has
    blobs = [(ROOT / "tests/fixtures/visit_completed_v1.bin").read_bytes()]
    registry = default_registry()
    history = random_history(seed=11, corrections=4.0)
    for type_, versions in registry.by_type.items():
        if len(versions) == 1:
            continue
        old, event = versions[0], next(e for e in history if e.type == type_)
        blobs.append(write_as(old, event))
    assert len(blobs) >= 4
    for blob in blobs:
        trusted, validated = decode_trusted(blob), decode(blob)
        for name in ("event_id", "type", "occurred_at", "rep_id", "recorded_at", "source"):
            assert getattr(trusted, name) == getattr(validated, name), name
        assert trusted.data._asdict() == validated.data.model_dump(), validated.type


def test_a_nul_in_a_string_is_refused_at_decode() -> None:
    # written past the edges (which refuse it): PostgreSQL cannot store it, so neither decode
    # may hand it on (a bulk replay's COPY would fail on it)
    visit = random_history(seed=11, reps=6, days=20, start=date(2026, 9, 1))[-1]
    poisoned = visit.model_copy(update={"rep_id": "r2\x00x"})
    with pytest.raises(DecodeError, match="NUL"):
        decode_trusted(encode(poisoned))
    with pytest.raises(DecodeError, match="NUL"):
        decode_activity(encode(poisoned), frozenset({"VisitCompleted"}))


def test_unreadable_bytes_still_go_to_the_dead_letters() -> None:
    with pytest.raises(DecodeError):
        decode_trusted(b"\xc3\x01" + b"\x00" * 8 + b"junk")
    with pytest.raises(DecodeError):
        decode_activity(b"\xc3\x01" + b"\x00" * 8 + b"junk", frozenset(EVENT_TYPES))
    batch = decode_batch([RawRecord("t", 0, 5, b"k", b"not avro")])
    assert batch.records == [(0, 5, None)] and len(batch.dead_letters) == 1


def test_an_instant_is_exact_to_the_microsecond_on_both_sides_of_the_float_path() -> None:
    import random

    from schemas.codec import offset_tz
    from schemas.trusted import _FLOAT_EXACT_US, _instant

    rng = random.Random(3)
    second = 1_000_000
    edges = [0, 1, _FLOAT_EXACT_US - 1, _FLOAT_EXACT_US, _FLOAT_EXACT_US + 1, -1, -second - 1]
    # Whole seconds plus the sub-second values a float could round the wrong way.
    near = [
        s * second + f
        for s in (1, 1_767_225_600, 2_999_999_999)
        for f in (1, 499_999, 500_000, 500_001, 999_999)
    ]
    spread = [rng.randrange(-(10**15), _FLOAT_EXACT_US + 10**15) for _ in range(20_000)]
    for i, us in enumerate(edges + near + spread):
        offset = offset_tz([0, 480, -300, 345][i % 4])
        got = _instant(us, offset)
        assert got == EPOCH + timedelta(microseconds=us), us
        assert got.utcoffset() == offset.utcoffset(None), us
        assert (
            got.microsecond == (EPOCH + timedelta(microseconds=us)).astimezone(offset).microsecond
        )


def test_decode_activity_reads_the_values_decode_trusted_reads_and_nothing_else() -> None:
    history = random_history(seed=12, corrections=2.0)
    wanted = frozenset({"CallLogged", "VisitCompleted", "LeadCreated", "LeadQualified"})
    seen = Counter()
    for event in history:
        blob = encode(event)
        parts, full = decode_activity(blob, wanted), decode_trusted(blob)
        if event.type not in wanted:
            assert parts is None
            continue
        seen[event.type] += 1
        assert parts is not None
        n, kind, at, us, rep, data = parts
        assert (n, kind, at, rep, data) == (
            full.event_id.int,
            full.type,
            full.occurred_at,
            full.rep_id,
            full.data,
        )
        assert at.utcoffset() == full.occurred_at.utcoffset()
        assert EPOCH + timedelta(microseconds=us) == at
    assert set(seen) == wanted


def test_a_corrupt_body_is_refused_by_both_decodes_alike() -> None:
    call = next(e for e in random_history(seed=13, reps=4, days=5) if e.type == "CallLogged")
    blob = encode(call)
    for cut in range(11, len(blob) - 1, 3):  # truncated bodies: cavro runs out of bytes
        broken = blob[:cut]
        try:
            decode_trusted(broken)
        except DecodeError:
            with pytest.raises(DecodeError):
                decode_activity(broken, frozenset({"CallLogged"}))
        else:
            assert decode_activity(broken, frozenset({"CallLogged"})) is not None
