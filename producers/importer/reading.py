"""Reading a CRM export: UTF-8 with or without a byte-order mark, else GB18030 (Excel in China).

Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2,
so an error message points at the row the user sees when opening the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENCODINGS = ("utf-8-sig", "gb18030")


class ReadError(ValueError):
    """The file cannot be read as CSV; the message says why."""


@dataclass(frozen=True)
class Table:
    encoding: str
    headers: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, column -> cell)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding that read it: UTF-8 (BOM or not) first, then GB18030."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    # GB18030 maps every byte sequence, so this is only reached for truncated multi-byte text.
    raise ReadError("neither UTF-8 nor GB18030: save the export as CSV UTF-8")


def read_table(path: str | Path) -> Table:
    text, encoding = decode(Path(path).read_bytes())
    return parse_table(text, encoding)


def parse_table(text: str, encoding: str = "utf-8") -> Table:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ReadError("the file is empty") from None
    headers = tuple(h.strip() for h in header)
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in _numbered(reader):
        if not any(c.strip() for c in cells):
            continue  # blank lines (Excel leaves some at the end)
        rows.append((number, dict(zip(headers, (c.strip() for c in cells), strict=False))))
    return Table(encoding, headers, rows)


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from enumerate(reader, start=2)
    except csv.Error as exc:
        raise ReadError(f"not valid CSV: {exc}") from exc
