"""`salespulse import` on the real broker and store: 3 bad rows of 10,000, then a re-import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Deployment
from tests.unit.test_importer import orders_csv

pytestmark = pytest.mark.integration

MAP = """
kind = "orders"
[columns]
order_id = "Order No"
rep_id = "Owner"
amount = "Amount"
account_id = "Account"
occurred_at = "Signed"
[defaults]
currency = "USD"
"""


def _import(deployment: Deployment, csv: Path, map_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salespulse.cli", "import", str(csv), "--map", str(map_file)],
        env={**os.environ, **deployment.env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_an_export_with_3_bad_rows_publishes_the_rest_and_a_second_import_publishes_nothing(
    deployment: Deployment, tmp_path: Path
) -> None:
    csv, map_file = tmp_path / "orders.csv", tmp_path / "orders.toml"
    bad = {17: ("Amount", "n/a"), 4321: ("Owner", ""), 10001: ("Signed", "31/31/2026")}
    csv.write_text(orders_csv(10_000, bad), encoding="utf-8")
    map_file.write_text(MAP, encoding="utf-8")
    deployment.start_worker()
    # when the export is imported
    first = _import(deployment, csv, map_file)
    # then exactly the 3 bad rows are reported, by row and column, and the rest is published
    assert first.returncode == 1, first.stderr
    errors = first.stderr.strip().splitlines()
    assert [e.split(":")[0] for e in errors] == [
        "row 17, column 'Amount'",
        "row 4321, column 'Owner'",
        "row 10001, column 'Signed'",
    ]
    assert "10000 rows (utf-8-sig): 9997 events, published 9997, already imported 0" in first.stdout
    deployment.wait_idle()
    # and importing the same file again publishes nothing
    second = _import(deployment, csv, map_file)
    assert second.returncode == 1
    assert "published 0, already imported 9997, rejected rows 3" in second.stdout
    # and a row whose amount changed in a later export is reported, not published again
    text = csv.read_text(encoding="utf-8").replace("SO-00005,r-5,5.50", "SO-00005,r-5,9.99")
    csv.write_text(text, encoding="utf-8")
    third = _import(deployment, csv, map_file)
    assert "row 5: changed since it was imported" in third.stderr
    assert "published 0, already imported 9996, rejected rows 4" in third.stdout
