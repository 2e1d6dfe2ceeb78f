"""Tables to files: CSV (UTF-8 with a byte-order mark, so Excel shows Chinese names) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from fastapi.responses import Response

from projections.queries.achievement import AchievementTable
from projections.queries.leaderboard import Leaderboard
from projections.queries.numbers import plain

Cell = str | int | Decimal | None
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def achievement_rows(table: AchievementTable) -> tuple[list[str], list[list[Cell]]]:
    headers = ["rep_id", "name", "unit_id", "unit"]
    for m in table.metrics:
        headers += [f"{m}_target", f"{m}_actual", f"{m}_completion", f"{m}_pace"]
    rows: list[list[Cell]] = []
    for row in table.rows:
        cells: list[Cell] = [row.rep_id, row.name, row.unit_id, row.unit_name]
        for m in table.metrics:
            a = row.metrics[m]
            cells += [a.target, a.actual, a.completion, a.pace_status]
        rows.append(cells)
    return headers, rows


def leaderboard_rows(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    headers = ["rank", "rep_id", "name", "value", "target", "completion"]
    rows: list[list[Cell]] = [
        [e.rank, e.rep_id, e.name, e.value, e.target, e.completion] for e in board.entries
    ]
    return headers, rows


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    return plain(cell) if isinstance(cell, Decimal) else str(cell)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([_text(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """One sheet; amounts as numbers (Decimal to float only here: a spreadsheet's own type)."""
    from openpyxl import Workbook  # imported on use: only the XLSX routes need it

    book = Workbook(write_only=True)
    sheet: Any = book.create_sheet(title[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([float(c) if isinstance(c, Decimal) else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_response(data: bytes, filename: str, media_type: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
