"""CSV import: encodings, the map, per-row errors naming row and column, stable event ids."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from infra.settings import Settings
from producers.importer.mapping import load_map, parse_map
from producers.importer.reading import parse_table, read_table
from producers.importer.rows import RowProblem
from producers.importer.run import check_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
SETTINGS = Settings.from_env({"SALESPULSE_FX_RATES": "CNY=0.14,EUR=1.08"})
ORDERS_MAP = parse_map(
    {
        "columns": {
            "order_id": "Order No", "rep_id": "Owner", "amount": "Amount",
            "account_id": "Account", "occurred_at": "Signed",
        },
        "defaults": {"currency": "USD"},
    }
)  # fmt: skip


def orders_csv(rows: int, bad: dict[int, tuple[str, str]]) -> str:
    """`rows` orders; bad maps a spreadsheet row number to (column, bad cell)."""
    lines = ["Order No,Owner,Amount,Account,Signed"]
    for row in range(2, rows + 2):
        cells = {
            "Order No": f"SO-{row:05d}", "Owner": f"r-{row % 40}", "Amount": f"{row}.50",
            "Account": f"a-{row % 300}", "Signed": "2026-11-03 10:00",
        }  # fmt: skip
        if row in bad:
            column, value = bad[row]
            cells[column] = value
        lines.append(",".join(cells.values()))
    return "\n".join(lines) + "\n"


def test_a_10000_row_export_with_3_bad_rows_gives_those_3_errors_and_9997_events() -> None:
    bad = {
        1001: ("Amount", "12.5x"),
        5000: ("Order No", ""),
        9999: ("Signed", "next tuesday"),
    }
    table = parse_table(orders_csv(10_000, bad))
    checked = check_table(table, "orders", ORDERS_MAP, SETTINGS)
    assert checked.rows == 10_000 and len(checked.events) == 9_997
    assert [(p.row, p.column) for p in checked.problems] == [
        (1001, "Amount"),
        (5000, "Order No"),
        (9999, "Signed"),
    ]
    assert (
        str(checked.problems[1]) == "row 5000, column 'Order No': required (part of the row's key)"
    )
    assert "'next tuesday' is not a date" in checked.problems[2].reason
    # the same file gives the same ids: a second import is recognised as the same events
    again = check_table(table, "orders", ORDERS_MAP, SETTINGS)
    assert [e.event_id for _, e in again.events] == [e.event_id for _, e in checked.events]
    assert len({e.event_id for _, e in checked.events}) == 9_997


def test_a_record_twice_in_one_file_is_an_error_on_the_second_row() -> None:
    text = orders_csv(3, {3: ("Order No", "SO-00002")})
    checked = check_table(parse_table(text), "orders", ORDERS_MAP, SETTINGS)
    assert checked.problems == [RowProblem(3, "Order No", "the same record as row 2")]


def test_a_gb18030_export_with_chinese_headers_imports(tmp_path: Path) -> None:
    text = '订单编号,负责人,金额,客户,日期\nSO-1,张伟,"128,000.00",明远贸易,2026/11/03 10:15\n'
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode("gb18030"))
    imap = parse_map(
        {
            "columns": {"order_id": "订单编号", "rep_id": "负责人", "amount": "金额",
                        "account_id": "客户", "occurred_at": "日期"},
            "defaults": {"currency": "CNY"},
            "values": {"rep_id": {"张伟": "r-101"}},
            "timezone": "Asia/Shanghai",
        }
    )  # fmt: skip
    table = read_table(path)
    assert table.encoding == "gb18030"
    checked = check_table(table, "orders", imap, SETTINGS)
    assert checked.problems == []
    [(_, event)] = checked.events
    assert event.rep_id == "r-101" and event.data.account_id == "明远贸易"  # type: ignore[union-attr]
    assert event.data.amount == Decimal("128000.00")  # type: ignore[union-attr]
    assert event.occurred_at.isoformat() == "2026-11-03T10:15:00+08:00"


def test_utf8_with_a_byte_order_mark_reads_its_first_header(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes("\ufeff".encode() + orders_csv(2, {}).encode())
    table = read_table(path)
    assert table.headers[0] == "Order No"
    assert check_table(table, "orders", ORDERS_MAP, SETTINGS).problems == []


def test_a_won_opportunity_becomes_created_and_won_with_their_own_stable_ids() -> None:
    table = read_table(EXAMPLES / "salesforce_opportunities.csv")
    imap = load_map(EXAMPLES / "salesforce_opportunities.toml")
    checked = check_table(table, "opportunities", imap, SETTINGS)
    types = [(row, e.type) for row, e in checked.events]
    assert types == [
        (2, "OpportunityCreated"), (2, "OpportunityWon"), (3, "OpportunityCreated"),
        (4, "OpportunityCreated"), (4, "OpportunityLost"), (5, "OpportunityCreated"),
    ]  # fmt: skip
    won = checked.events[1][1]
    assert won.data.amount == Decimal("12500.00") and won.rep_id == "r-001"  # type: ignore[union-attr]
    assert won.occurred_at.isoformat() == "2026-11-03T12:00:00-05:00"  # a date: noon, local


@pytest.mark.parametrize(
    "name", ["salesforce_opportunities", "salesforce_orders", "fxiaoke_orders", "hongquan_visits"]
)
def test_every_example_export_imports_without_a_problem(name: str) -> None:
    imap = load_map(EXAMPLES / f"{name}.toml")
    assert imap.kind is not None
    checked = check_table(read_table(EXAMPLES / f"{name}.csv"), imap.kind, imap, SETTINGS)
    assert checked.problems == [] and len(checked.events) >= checked.rows


def test_a_map_naming_a_column_the_file_lacks_says_which() -> None:
    imap = parse_map({"columns": {**ORDERS_MAP.columns, "amount": "Total"}})
    checked = check_table(parse_table(orders_csv(2, {})), "orders", imap, SETTINGS)
    assert (
        len(checked.problems) == 1 and "column 'Total' (for amount)" in checked.problems[0].reason
    )
