"""A whole export checked: every row converted and validated, problems kept per row.

Every event goes through the one admission path (producers/admission.py: the same validation
and target lock rule as `produce` and `POST /api/events`); its field paths are turned back
into the export's column names. A row with any problem contributes no event; the other rows
are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from infra.settings import Settings
from producers.admission import Admission, Guard
from producers.importer.mapping import ImportMap
from producers.importer.reading import Table
from producers.importer.rows import KINDS, RowConverter, RowProblem
from producers.ingest import Rejection
from schemas.events import AnyEvent


@dataclass
class Checked:
    """The events of the good rows (in file order) and the bad rows' problems."""

    rows: int = 0
    events: list[tuple[int, AnyEvent]] = field(default_factory=list)  # (row, event)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems})


def check_table(
    table: Table, kind: str, imap: ImportMap, settings: Settings, guard: Guard | None = None
) -> Checked:
    """Convert and admit every row; `guard` is the entry point's target lock rule."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    tz = ZoneInfo(imap.timezone) if imap.timezone else settings.zone
    converter = RowConverter(kind, imap, tz)
    out = Checked(rows=len(table.rows))
    missing = converter.missing_columns(table.headers)
    if missing:
        out.problems += [RowProblem(1, None, reason) for reason in missing]
        return out
    admission = Admission(settings, guard)
    first_row: dict[str, int] = {}  # event_id -> the row that produced it
    for row, cells in table.rows:
        converted = converter.convert(row, cells)
        if isinstance(converted, RowProblem):
            out.problems.append(converted)
            continue
        events: list[AnyEvent] = []
        problems: list[RowProblem] = []
        for obj in converted:
            earlier = first_row.get(obj["event_id"])
            if earlier is not None:
                column = converter.column_name(converter.spec.key[0])
                problems.append(RowProblem(row, column, f"the same record as row {earlier}"))
                break
            outcome = admission.object(obj, row)
            if isinstance(outcome, Rejection):
                problems += [
                    RowProblem(row, converter.column_name(e.field), e.reason)
                    for e in outcome.errors
                ]
            else:
                events.append(outcome)
        if problems:
            out.problems += problems
            continue
        for event in events:
            first_row[str(event.event_id)] = row
        out.events += [(row, event) for event in events]
    return out
