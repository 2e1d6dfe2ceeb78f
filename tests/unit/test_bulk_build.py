"""The bulk build's id de-duplication across flushes, and the key it relies on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from infra.publisher import partition_key
from projections.model.aggregate import Aggregate
from projections.model.context import default_context
from projections.model.fold import fold
from schemas.codec import encode
from schemas.trusted import decode_trusted
from streams.bulk_build import BulkBuild, MiB
from tests.support.sample import random_history
from tests.support.staging import Staging


def test_a_repeat_after_a_flush_is_held_back_and_dropped_and_the_rest_counted_once() -> None:
    values = [encode(e) for e in random_history(seed=3, reps=4, days=10)]
    events = [decode_trusted(v) for v in values]
    staging = Staging()
    build = BulkBuild(default_context(), staging, 2 * MiB)  # type: ignore[arg-type]
    half = len(events) // 2
    build.add([(0, i, v) for i, v in enumerate(values[:half])])
    build.flush()
    # the second segment repeats every event of the first one, then brings the rest
    build.add([(0, half + i, v) for i, v in enumerate(values[:half] + values[half:])])
    build.flush()
    assert build.stats.duplicates == half
    # every id staged once: a repeat's id is not staged again (the merge keys them)
    assert Counter(staging.ids) == Counter({e.event_id.int for e in events})
    activities = sum(n for a in staging.aggregates for n, _ in a.activities.values())
    whole = Aggregate()
    for e in events:
        whole.add_all(fold(e, default_context()))
    assert activities == sum(n for n, _ in whole.activities.values())


def test_a_resubmitted_event_has_the_key_of_its_first_copy() -> None:
    # the key is a function of the event's content (infra.publisher.KEY_FIELDS), not of what
    # the log adds on the way (recorded_at, source): a copy lands on the first copy's partition
    for e in random_history(seed=4, reps=3, days=5, start=date(2026, 9, 1)):
        copy = e.model_copy(update={"recorded_at": datetime(2027, 1, 1, tzinfo=UTC), "source": "x"})
        assert partition_key(copy) == partition_key(e)


def test_records_that_cannot_be_decoded_only_move_their_partition_offset() -> None:
    # given a good record between a tombstone, bytes that are no record, and a NUL in a string
    good, other = random_history(seed=4, reps=2, days=3)[:2]
    nul = encode(other.model_copy(update={"rep_id": "r\x00"}))
    records = [(0, 0, None), (0, 1, b"\x00garbage"), (0, 2, encode(good)), (0, 3, nul)]
    build = BulkBuild(default_context(), Staging(), 2 * MiB)  # type: ignore[arg-type]
    # when the build reads them
    build.add(records)
    # then only the good one is folded and staged, and every offset counts as read
    assert build.segment.last == {0: 3}
    assert build.segment.ids == {0: {good.event_id.int}}
    assert (build.stats.records, build.stats.failed) == (4, 0)
