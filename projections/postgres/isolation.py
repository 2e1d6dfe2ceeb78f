"""Which write failures are a record's own fault, and the bookkeeping of isolating it."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import errors

from projections.model.batch import AppliedResult, FailedRecord, Record

# Deterministic: the same record fails the same way on every retry (a NUL in a text value,
# a date PostgreSQL cannot store, a value too large for an index), so retrying the batch
# forever would stop its partition for good. Connection and server failures are not here:
# those batches are retried whole once the server is back.
_RECORD_FAULTS: tuple[type[BaseException], ...] = (
    psycopg.DataError,
    psycopg.IntegrityError,
    errors.ProgramLimitExceeded,
    # The fold or a row encoder choking on one event's values.
    ValueError,
    TypeError,
    ArithmeticError,
    LookupError,
    RecursionError,
)


def is_record_fault(exc: BaseException) -> bool:
    """True when `exc` is caused by the data being written, not by the server or network."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return isinstance(exc, errors.ProgramLimitExceeded)
    return isinstance(exc, _RECORD_FAULTS)


def poisoned(
    records: Sequence[Record], index: int, exc: BaseException
) -> tuple[list[Record], FailedRecord]:
    """The records with the event at `index` replaced by its bare offset, and its report."""
    partition, offset, event = records[index]
    assert event is not None
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:2000]
    failed = FailedRecord(partition, offset, event.event_id, reason)
    return [*records[:index], (partition, offset, None), *records[index + 1 :]], failed


def merged(first: AppliedResult, second: AppliedResult) -> AppliedResult:
    """Two results of consecutive batches as one."""
    offsets = dict(first.offsets)
    for partition, offset in second.offsets.items():
        offsets[partition] = max(offset, offsets.get(partition, offset))
    return AppliedResult(
        applied=first.applied + second.applied,
        skipped_offsets=first.skipped_offsets + second.skipped_offsets,
        duplicates=first.duplicates + second.duplicates,
        failed=first.failed + second.failed,
        offsets=offsets,
        deal_wins=first.deal_wins + second.deal_wins,
        cheers=first.cheers + second.cheers,
        metrics=first.metrics | second.metrics,
    )
